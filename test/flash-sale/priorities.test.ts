import type { Request } from 'express'
import { describe, expect, it } from 'vitest'
import { priorityOf } from '../../examples/flash-sale/http/app'
import { DIANA_CONFIG_PATH } from '../../examples/flash-sale/shop-config'
import { loadConfig } from '../../src/config/load-config'

const request = (method: string, originalUrl: string, headers: Record<string, string> = {}) =>
  ({ method, originalUrl, headers }) as unknown as Request

describe('the flash-sale shop under overload', () => {
  it('puts an adaptive capacity rule in front of every API call, stock deduction included', () => {
    const { rules } = loadConfig(DIANA_CONFIG_PATH)
    expect(rules[0]).toMatchObject({
      name: 'capacity',
      algorithm: 'adaptive-concurrency',
      match: { path: '/api/**' },
    })
  })

  it('pays critical, purchases normal, browsing sheddable, by route and never by what the client says', () => {
    expect(priorityOf(request('POST', '/api/orders/FS-1/pay'))).toBe('critical')
    expect(priorityOf(request('POST', '/api/seckill/purchase', { 'x-priority': 'critical' }))).toBe('normal')
    expect(priorityOf(request('GET', '/api/me'))).toBe('sheddable')
    expect(priorityOf(request('GET', '/api/orders/FS-1/pay?x=1'))).toBe('sheddable')
  })
})
