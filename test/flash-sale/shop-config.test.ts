import { describe, expect, it } from 'vitest'
import { configFromEnv, DEMO_DEFAULTS, DIANA_CONFIG_PATH } from '../../examples/flash-sale/shop-config'

const NOW = 1_700_000_000_000

describe('flash-sale configuration from the environment', () => {
  it('runs a fresh clone with no variables: port 3000, in memory, the demo sale of 2 items', () => {
    const config = configFromEnv({}, NOW, DEMO_DEFAULTS)
    expect(config).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      redisUrl: undefined,
      saleId: 'FS',
      stock: 2,
      startsAt: NOW + 15_000,
      paymentWindowMs: 60_000,
      dianaConfig: DIANA_CONFIG_PATH,
      cooldownMs: 10_000,
    })
    expect(configFromEnv({}, NOW).paymentWindowMs).toBe(15 * 60_000)
    expect(configFromEnv({}, NOW).stock).toBe(200)
    expect(configFromEnv({ SALE_STOCK: '200' }, NOW, DEMO_DEFAULTS).stock).toBe(200)
  })

  it('reads every variable', () => {
    const config = configFromEnv(
      {
        PORT: '0',
        REDIS_URL: 'redis://127.0.0.1:6390',
        SALE_ID: 'spring-1',
        SALE_STOCK: '7',
        SALE_STARTS_IN: '0',
        PAYMENT_WINDOW: '90s',
        COOLDOWN: '2s',
      },
      NOW,
    )
    expect(config).toMatchObject({
      port: 0,
      redisUrl: 'redis://127.0.0.1:6390',
      saleId: 'spring-1',
      stock: 7,
      startsAt: NOW,
      paymentWindowMs: 90_000,
      cooldownMs: 2000,
    })
    expect(configFromEnv({ SALE_STARTS_AT: '2030-01-01T00:00:00Z' }, NOW).startsAt).toBe(Date.UTC(2030, 0, 1))
  })

  it('names the variable when a value is wrong', () => {
    expect(() => configFromEnv({ SALE_STOCK: 'lots' }, NOW)).toThrow(
      /^SALE_STOCK must be a whole number >= 0/,
    )
    expect(() => configFromEnv({ PORT: '-1' }, NOW)).toThrow(/^PORT must be a whole number/)
    expect(() => configFromEnv({ PAYMENT_WINDOW: '1 week' }, NOW)).toThrow(
      /^PAYMENT_WINDOW must be a duration/,
    )
    expect(() => configFromEnv({ SALE_ID: 'a}b{c' }, NOW)).toThrow(/^SALE_ID must be/)
    expect(() => configFromEnv({ SALE_STARTS_AT: 'soon' }, NOW)).toThrow(/^SALE_STARTS_AT must be/)
  })
})
