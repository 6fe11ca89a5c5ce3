import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express'
import type { Shop } from '../domain/shop'
import { issueDeviceId } from './device-ids'
import { type Sessions, USER_PATTERN } from './session'

/** What the page shows about the product. */
export interface Product {
  name: string
  description: string
  /** Minor units (cents), so no float rounding ever reaches a price. */
  priceCents: number
  currency: string
}

export interface AppOptions {
  shop: Shop
  sessions: Sessions
  /** Diana in front of the API; it decides before any handler runs. */
  rateLimit: RequestHandler
  /** Signs the device ids the page asks for (Diana's `deviceSecret`). */
  deviceSecret: Buffer
  product: Product
  /** How long the page keeps the buy button disabled after a click. @default 10_000 */
  cooldownMs?: number
  /**
   * Plain Node request handlers served beside the shop, by path prefix (e.g. an operations page
   * at `/diana`). They come before the page and outside Diana's `/api` rules, and see `req.url`
   * relative to their prefix.
   */
  mounts?: Record<string, NodeHandler>
}

/** A request handler of node:http, as `diana-limiter/dashboard` and most servers' tools return. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void

const PUBLIC_DIR = fileURLToPath(new URL('../public', import.meta.url))
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,64}$/
const ORDER_ID = /^[A-Za-z0-9_-]{1,64}$/

/** Routes that Diana leaves alone: cacheable reads a CDN would serve in a real deployment. */
export function isCacheableRead(req: Request): boolean {
  if (req.method !== 'GET') return false
  const path = req.originalUrl.split('?')[0]
  return path === '/api/sale' || path === '/api/audit'
}

/**
 * How much a request matters when the shop is overloaded (the `capacity` rule in diana.yaml):
 * paying for an order is the checkout, `critical`, and is shed last; reading one's own state
 * (`/api/me`, an order) is browsing the page repeats anyway, `sheddable`, and is shed first;
 * the purchase itself is `normal`. Decided by route, never by anything the client sends.
 */
export function priorityOf(req: Request): 'critical' | 'normal' | 'sheddable' {
  const path = req.originalUrl.split('?')[0] ?? ''
  if (req.method === 'POST' && /^\/api\/orders\/[^/]+\/pay$/.test(path)) return 'critical'
  if (req.method === 'GET') return 'sheddable'
  return 'normal'
}

/**
 * The shop's HTTP face. The order of the middleware is the architecture: static page first
 * (cacheable, never limited), then Diana on every API call, then the use cases.
 */
export function createApp(options: AppOptions): express.Express {
  const { shop, sessions, product } = options
  const cooldownMs = options.cooldownMs ?? 10_000
  const app = express()
  app.disable('x-powered-by')
  for (const [path, handler] of Object.entries(options.mounts ?? {})) {
    if (!path.startsWith('/') || path.startsWith('/api')) {
      throw new TypeError(`mount paths start with "/" and stay out of /api (got "${path}")`)
    }
    app.use(path, (req, res) => handler(req, res))
  }
  app.use(express.static(PUBLIC_DIR, { maxAge: '5m' }))
  app.use('/api', options.rateLimit)
  app.use('/api', express.json({ limit: '4kb' }))

  app.get('/api/sale', async (_req, res) => {
    res.setHeader('Cache-Control', 'public, max-age=1')
    res.json({ ...(await shop.info()), product, cooldownMs })
  })

  app.get('/api/audit', async (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json(await shop.audit())
  })

  // The page's device id, signed so that the device rule counts it; asked for once per browser.
  // The `device-ids` rule keeps a script from collecting many of them.
  app.post('/api/device', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store')
    res.json({ deviceId: issueDeviceId(options.deviceSecret) })
  })

  // Phase 1, reservation: signs the visitor in and grants eligibility; repeating it is harmless.
  app.post('/api/reserve', async (req, res) => {
    const user = (req.body as { user?: unknown } | undefined)?.user
    if (typeof user !== 'string' || !USER_PATTERN.test(user)) {
      return problem(res, 400, 'Bad user name', 'user must be 1-32 letters, digits, ".", "_" or "-"')
    }
    const outcome = await shop.reserve(user)
    if (outcome === 'full')
      return problem(res, 409, 'Reservations are full', 'every place for this sale is taken')
    res.setHeader('Set-Cookie', sessions.cookie(user))
    res.json({ user, eligible: true, reserved: outcome === 'reserved' })
  })

  // Who the page is talking to; a visitor who has not signed in is `user: null`, not an error.
  app.get('/api/me', async (req, res) => {
    const user = sessions.user(req)
    res.setHeader('Cache-Control', 'no-store')
    if (user === undefined) return res.json({ user: null, eligible: false, order: null })
    const [eligible, order] = await Promise.all([shop.state.isEligible(user), shop.orderOf(user)])
    res.json({ user, eligible, order: order ?? null })
  })

  // Phase 3, purchase: only what Diana let through gets here.
  app.post('/api/seckill/purchase', async (req, res) => {
    const user = sessions.user(req)
    if (user === undefined) return problem(res, 401, 'Not signed in', 'reserve first')
    const key = req.header('idempotency-key')
    if (key === undefined || !IDEMPOTENCY_KEY.test(key)) {
      return problem(
        res,
        400,
        'Missing Idempotency-Key',
        'send an Idempotency-Key header of 8-64 letters/digits',
      )
    }
    const result = await shop.purchase(user, key)
    switch (result.outcome) {
      case 'created':
        return res.status(201).json(result)
      case 'replayed':
        return res.status(200).json(result)
      case 'already-ordered':
      case 'sold-out':
        return res.status(409).json(result)
      case 'not-eligible':
        return res.status(403).json(result)
      case 'not-started':
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil((result.startsAt - shop.now()) / 1000))))
        return res.status(409).json(result)
    }
  })

  // Phase 4, payment (the demo's payment provider always says yes).
  app.post('/api/orders/:id/pay', async (req, res) => {
    const user = sessions.user(req)
    if (user === undefined) return problem(res, 401, 'Not signed in', 'reserve first')
    const id = String(req.params.id)
    if (!ORDER_ID.test(id)) return problem(res, 404, 'No such order', id)
    const result = await shop.pay(user, id)
    if (result.outcome === 'not-found') return problem(res, 404, 'No such order', id)
    res.status(result.outcome === 'paid' || result.outcome === 'already-paid' ? 200 : 409).json(result)
  })

  app.get('/api/orders/:id', async (req, res) => {
    const user = sessions.user(req)
    const id = String(req.params.id)
    const order = user === undefined || !ORDER_ID.test(id) ? undefined : await shop.order(id)
    if (order === undefined || order.user !== user) return problem(res, 404, 'No such order', id)
    res.setHeader('Cache-Control', 'no-store')
    res.json({ order, now: shop.now() })
  })

  app.use('/api', (_req, res) => problem(res, 404, 'Not found', 'no such API route'))

  // A failing store (Redis down, a timeout) is the shop's problem, not the visitor's mystery.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: number }).status
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return problem(res, status, 'Bad request', (error as Error).message)
    }
    console.error('[flash-sale]', error)
    problem(res, 503, 'Service unavailable', 'the sale is busy, try again shortly')
  })
  return app
}

function problem(res: Response, status: number, title: string, detail: string): void {
  if (res.headersSent) return
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify({ type: 'about:blank', title, status, detail }))
}
