import { fileURLToPath } from 'node:url'
import { parseDuration } from 'diana-limiter'
import type { Product } from './http/app'

/** Everything that varies between a demo, a test and a load run. */
export interface ShopConfig {
  /** @default 3000 */
  port: number
  /** @default '127.0.0.1' */
  host: string
  /** Set: all sale state lives in Redis, and several processes can serve one sale. */
  redisUrl?: string
  /** Also the order number prefix. @default 'FS' */
  saleId: string
  /** @default 200 */
  stock: number
  /** Epoch ms when purchases open. */
  startsAt: number
  /** @default 15 minutes (the demo uses 60 s) */
  paymentWindowMs: number
  /** Diana rules. @default examples/flash-sale/diana.yaml */
  dianaConfig: string
  /** Signs the session cookie; processes serving one sale must share it. */
  secret: string
  product: Product
  /** @default 10_000 */
  cooldownMs: number
  /** Most users that may reserve; bounds the sale's memory. @default 100_000 */
  maxReservations: number
}

export const DIANA_CONFIG_PATH = fileURLToPath(new URL('./diana.yaml', import.meta.url))

/** A fixed secret so a fresh clone runs without set-up; set SHOP_SECRET anywhere real. */
export const DEMO_SECRET = 'flash-sale-demo-secret-change-me'

export const DEFAULT_PRODUCT: Product = {
  name: 'Diana 75 mechanical keyboard',
  description: 'Aluminium case, hot-swap switches, one per customer.',
  priceCents: 4900,
  currency: 'EUR',
}

/** What the caller (the demo) prefers when a variable is unset. */
export interface ConfigDefaults {
  /** SALE_STARTS_IN. @default '15s' */
  startsIn?: string
  /** PAYMENT_WINDOW. @default '15m' */
  paymentWindow?: string
  /** SALE_STOCK. @default 200 */
  stock?: number
}

/**
 * `npm run demo`'s defaults, chosen so that one person with two browsers can see every phase
 * (README, "Try it"): two items, so that one buyer's three tabs meet the per-account limit while
 * an item is left and a second buyer then sells the sale out; a minute to pay, so an unpaid
 * order visibly goes back on sale.
 */
export const DEMO_DEFAULTS: ConfigDefaults = { startsIn: '15s', paymentWindow: '60s', stock: 2 }

/**
 * Reads the shop's configuration from environment variables:
 * PORT, HOST, REDIS_URL, SALE_ID, SALE_STOCK, SALE_STARTS_AT (epoch ms or ISO date) or
 * SALE_STARTS_IN (a duration after start-up, e.g. 15s), PAYMENT_WINDOW (e.g. 60s, 15m),
 * DIANA_CONFIG, SHOP_SECRET, COOLDOWN, SALE_MAX_RESERVATIONS. `defaults` are what the caller (the demo) prefers when
 * a variable is unset. A bad value is an error naming the variable.
 */
export function configFromEnv(
  env: NodeJS.ProcessEnv,
  now: number,
  defaults: ConfigDefaults = {},
): ShopConfig {
  const port = integer(env, 'PORT', 3000, 0)
  const saleId = env.SALE_ID ?? 'FS'
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(saleId)) {
    throw new TypeError(`SALE_ID must be 1-32 letters, digits, "_" or "-" (got "${saleId}")`)
  }
  return {
    port,
    host: env.HOST ?? '127.0.0.1',
    redisUrl: env.REDIS_URL || undefined,
    saleId,
    stock: integer(env, 'SALE_STOCK', defaults.stock ?? 200, 0),
    startsAt: startsAt(env, now, defaults.startsIn ?? '15s'),
    paymentWindowMs: duration(env, 'PAYMENT_WINDOW', defaults.paymentWindow ?? '15m'),
    dianaConfig: env.DIANA_CONFIG ?? DIANA_CONFIG_PATH,
    secret: env.SHOP_SECRET ?? DEMO_SECRET,
    product: DEFAULT_PRODUCT,
    cooldownMs: duration(env, 'COOLDOWN', '10s'),
    maxReservations: integer(env, 'SALE_MAX_RESERVATIONS', 100_000, 1),
  }
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`${name} must be a whole number >= ${min} (got "${raw}")`)
  }
  return value
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  const raw = env[name] || fallback
  const ms = parseDuration(/^\d+$/.test(raw) ? Number(raw) : raw)
  if (ms === undefined)
    throw new TypeError(`${name} must be a duration such as 500ms, 60s, 15m (got "${raw}")`)
  return ms
}

function startsAt(env: NodeJS.ProcessEnv, now: number, defaultStartsIn: string): number {
  const at = env.SALE_STARTS_AT
  if (at !== undefined && at !== '') {
    const ms = /^\d+$/.test(at) ? Number(at) : Date.parse(at)
    if (!Number.isFinite(ms))
      throw new TypeError(`SALE_STARTS_AT must be epoch ms or an ISO date (got "${at}")`)
    return ms
  }
  return now + duration(env, 'SALE_STARTS_IN', defaultStartsIn)
}
