/** Helpers shared by the flash-sale HTTP, restart and browser tests. */
import type { Order } from '../../examples/flash-sale/domain/order'
import { deviceSecretOf } from '../../examples/flash-sale/http/device-ids'
import { DEFAULT_PRODUCT, DIANA_CONFIG_PATH, type ShopConfig } from '../../examples/flash-sale/shop-config'
import { signDeviceId } from '../../src/device-id'
import type { Rule } from '../../src/rules/rule'

let sequence = 0
const TEST_SECRET = 'test-secret-0123456789'

/** `id` signed as the shop signs device ids under the test secret (what POST /api/device gives). */
export function signedDevice(id: string, shopSecret = TEST_SECRET): string {
  return signDeviceId(id, deviceSecretOf(shopSecret))
}

/** A sale that opens at `startsAt`, on a free port, with its own sale id. */
export function testConfig(startsAt: number, overrides: Partial<ShopConfig> = {}): ShopConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    saleId: `T${process.pid}y${++sequence}`,
    stock: 100,
    startsAt,
    paymentWindowMs: 60_000,
    dianaConfig: DIANA_CONFIG_PATH,
    secret: TEST_SECRET,
    product: DEFAULT_PRODUCT,
    cooldownMs: 10_000,
    maxReservations: 100_000,
    ...overrides,
  }
}

/** Rules that let a test's traffic through, so the stock logic is what is under test. */
export const ROOMY_RULES: Rule[] = [
  { name: 'global', dimension: 'global', algorithm: 'token-bucket', limit: 1_000_000, window: '1s' },
  { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 1000, window: '10s' },
]

export interface Reply<T = Record<string, unknown>> {
  status: number
  headers: Headers
  body: T
}

/**
 * One person with a browser-like cookie jar and device id, speaking the shop's API. `device` is
 * the x-device-id header as sent: by default an id the shop signed, as the page would have.
 */
export class Buyer {
  cookie = ''

  constructor(
    readonly baseUrl: string,
    readonly user: string,
    readonly device = signedDevice(`device-${user}`),
  ) {}

  async request<T = Record<string, unknown> & { order?: Order; outcome?: string }>(
    method: string,
    path: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply<T>> {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: {
        'content-type': 'application/json',
        'x-device-id': this.device,
        ...(this.cookie && { cookie: this.cookie }),
        ...init.headers,
      },
      ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
    })
    const setCookie = response.headers.get('set-cookie')
    if (setCookie) this.cookie = setCookie.split(';')[0] as string
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : {}) as T }
  }

  reserve() {
    return this.request('POST', '/api/reserve', { body: { user: this.user } })
  }

  purchase(key = `purchase-key-${this.user}`) {
    return this.request('POST', '/api/seckill/purchase', { headers: { 'idempotency-key': key } })
  }

  pay(orderId: string) {
    return this.request('POST', `/api/orders/${orderId}/pay`)
  }
}
