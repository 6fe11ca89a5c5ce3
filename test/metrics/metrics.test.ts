import { execFile } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import { promisify } from 'node:util'
import { Counter, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import { dianaMetrics } from '../../src/metrics/index'
import type { Rule } from '../../src/rules/rule'
import type { Evaluation, Store } from '../../src/stores/store'

const rules: Rule[] = [
  { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 2, window: '1m' },
  { name: 'watch', dimension: 'global', algorithm: 'fixed-window', limit: 1, window: '1m', shadow: true },
]

async function value(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get()
  const found = metric?.values.find((v) =>
    Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l),
  )
  return found?.value ?? 0
}

describe('diana-limiter/metrics', () => {
  it('counts allowed, denied and shadow-denied decisions per rule, and times each check', async () => {
    const registry = new Registry()
    const limiter = createLimiter({ rules, clock: () => 60_000 })
    dianaMetrics(limiter, { registry })
    for (let i = 0; i < 3; i++) await limiter.check({ device: 'a' })
    await limiter.check({})
    expect(await value(registry, 'diana_allowed_total', { rule: 'device' })).toBe(2)
    expect(await value(registry, 'diana_denied_total', { rule: 'device' })).toBe(1)
    // Without a device only the shadow rule applies, and binds.
    expect(await value(registry, 'diana_allowed_total', { rule: 'watch' })).toBe(1)
    // The shadow rule (limit 1) would have denied every request after the first.
    expect(await value(registry, 'diana_shadow_denied_total', { rule: 'watch' })).toBe(3)
    const text = await registry.metrics()
    expect(text).toMatch(/diana_check_duration_seconds_count\{limiter="default"\} 4/)
    expect(text).toMatch(/diana_store_degraded\{limiter="default"\} 0/)
    await limiter.close()
  })

  it('follows the store state: degraded decisions and events set the gauge, recovery clears it', async () => {
    const registry = new Registry()
    let degraded = true
    const store: Store = {
      evaluate: (request): Evaluation => ({
        verdicts: request.rules.map(() => ({
          allowed: true,
          remaining: 1,
          resetMs: 1,
          retryAfterMs: 0,
          delayMs: 0,
        })),
        degraded,
      }),
      close: async () => {},
    }
    const limiter = createLimiter({ rules: rules.slice(0, 1), store })
    dianaMetrics(limiter, { registry, prefix: 'shop_' })
    await limiter.check({ device: 'a' })
    expect(await value(registry, 'shop_store_degraded')).toBe(1)
    degraded = false
    await limiter.check({ device: 'a' })
    expect(await value(registry, 'shop_store_degraded')).toBe(0)
    const events = limiter as unknown as EventEmitter
    events.emit('degraded', { reason: 'test', policy: 'fallback' })
    expect(await value(registry, 'shop_store_degraded')).toBe(1)
    events.emit('recovered', { downMs: 1 })
    expect(await value(registry, 'shop_store_degraded')).toBe(0)
  })

  it('stop() detaches from the limiter and unregisters the metrics', async () => {
    const registry = new Registry()
    const limiter = createLimiter({ rules })
    const metrics = dianaMetrics(limiter, { registry })
    metrics.stop()
    metrics.stop()
    expect(limiter.listenerCount('decision')).toBe(0)
    expect(await registry.metrics()).not.toMatch(/diana_/)
    // Registering again works once stopped (no duplicate-name error).
    dianaMetrics(limiter, { registry })
  })

  it('labels every series with the limiter name, so several limiters share one registry', async () => {
    const registry = new Registry()
    const api = createLimiter({ name: 'api', rules, clock: () => 60_000 })
    const login = createLimiter({ name: 'login', rules, clock: () => 60_000 })
    dianaMetrics(api, { registry })
    dianaMetrics(login, { registry })
    for (let i = 0; i < 3; i++) await api.check({ device: 'a' })
    await login.check({ device: 'a' })
    expect(await value(registry, 'diana_allowed_total', { limiter: 'api', rule: 'device' })).toBe(2)
    expect(await value(registry, 'diana_denied_total', { limiter: 'api', rule: 'device' })).toBe(1)
    expect(await value(registry, 'diana_allowed_total', { limiter: 'login', rule: 'device' })).toBe(1)
    expect(await value(registry, 'diana_denied_total', { limiter: 'login', rule: 'device' })).toBe(0)
    const text = await registry.metrics()
    expect(text).toMatch(/diana_store_degraded\{limiter="api"\} 0/)
    expect(text).toMatch(/diana_store_degraded\{limiter="login"\} 0/)
    expect(text).toMatch(/diana_check_duration_seconds_count\{limiter="api"\} 3/)
    expect(text).toMatch(/diana_check_duration_seconds_count\{limiter="login"\} 1/)
  })

  it('refuses a second limiter of the same name on one registry, saying how to name them', () => {
    const registry = new Registry()
    dianaMetrics(createLimiter({ rules }), { registry })
    expect(() => dianaMetrics(createLimiter({ rules }), { registry })).toThrow(
      /a limiter named "default" already reports to this registry; give each limiter its own name/,
    )
    // The same limiter twice would count every decision twice.
    const api = createLimiter({ name: 'api', rules })
    dianaMetrics(api, { registry })
    expect(() => dianaMetrics(api, { registry })).toThrow(/"api" already reports/)
    // The label can also be chosen in the metrics options.
    expect(() => dianaMetrics(api, { registry, name: 'api-2' })).not.toThrow()
  })

  it("stop() removes only that limiter's series; the metrics leave with the last limiter", async () => {
    const registry = new Registry()
    const api = createLimiter({ name: 'api', rules, clock: () => 60_000 })
    const login = createLimiter({ name: 'login', rules, clock: () => 60_000 })
    const apiMetrics = dianaMetrics(api, { registry })
    const loginMetrics = dianaMetrics(login, { registry })
    await api.check({ device: 'a' })
    await login.check({ device: 'a' })
    apiMetrics.stop()
    const text = await registry.metrics()
    expect(text).not.toMatch(/limiter="api"/)
    expect(text).toMatch(/diana_allowed_total\{limiter="login",rule="device"\} 1/)
    await login.check({ device: 'a' })
    expect(await value(registry, 'diana_allowed_total', { limiter: 'login', rule: 'device' })).toBe(2)
    // The name is free again.
    dianaMetrics(api, { registry }).stop()
    loginMetrics.stop()
    expect(await registry.metrics()).not.toMatch(/diana_/)
    expect(registry.getSingleMetric('diana_allowed_total')).toBeUndefined()
  })

  it('counts allowed requests near the limit of their binding rule (near_limit, as Envoy)', async () => {
    const registry = new Registry()
    const limiter = createLimiter({
      rules: [{ name: 'login', dimension: 'device', algorithm: 'fixed-window', limit: 10, window: '1m' }],
      clock: () => 60_000,
    })
    dianaMetrics(limiter, { registry })
    for (let i = 0; i < 12; i++) await limiter.check({ device: 'a' })
    // Requests 8, 9 and 10 leave at least 80% of the limit used; 11 and 12 are denied.
    expect(await value(registry, 'diana_near_limit_total', { limiter: 'default', rule: 'login' })).toBe(3)
    expect(await value(registry, 'diana_denied_total', { rule: 'login' })).toBe(2)
  })

  it('takes nearLimitRatio from the options: 1 counts only the request that used the last unit', async () => {
    const registry = new Registry()
    const limiter = createLimiter({
      rules: [{ name: 'login', dimension: 'device', algorithm: 'fixed-window', limit: 10, window: '1m' }],
      clock: () => 60_000,
    })
    dianaMetrics(limiter, { registry, nearLimitRatio: 1 })
    for (let i = 0; i < 12; i++) await limiter.check({ device: 'a' })
    expect(await value(registry, 'diana_near_limit_total', { rule: 'login' })).toBe(1)
    // No rule applied: never near a limit.
    await limiter.check({})
    expect(await value(registry, 'diana_near_limit_total', { rule: '' })).toBe(0)
  })

  it.each([0, -0.5, 1.5, Number.NaN, '0.8'])(
    'rejects nearLimitRatio %s with a TypeError naming it',
    (ratio) => {
      expect(() =>
        dianaMetrics(createLimiter({ rules }), { registry: new Registry(), nearLimitRatio: ratio as number }),
      ).toThrow(/nearLimitRatio must be a number above 0 and at most 1/)
    },
  )

  it('refuses different buckets, a foreign metric of the same name and misspelled options', () => {
    const registry = new Registry()
    dianaMetrics(createLimiter({ name: 'a', rules }), { registry, buckets: [0.001, 0.01] })
    expect(() =>
      dianaMetrics(createLimiter({ name: 'b', rules }), { registry, buckets: [0.001, 0.1] }),
    ).toThrow(
      /buckets must be the same for every limiter reporting to one registry; the first used \[0.001, 0.01\]/,
    )
    const other = new Registry()
    new Counter({ name: 'diana_denied_total', help: 'not ours', registers: [other] })
    expect(() => dianaMetrics(createLimiter({ rules }), { registry: other })).toThrow(
      /already has a metric named "diana_denied_total" that this dianaMetrics did not make/,
    )
    expect(() =>
      dianaMetrics(createLimiter({ rules }), { registry, nearLimitRate: 0.5 } as unknown as object),
    ).toThrow(/unknown option "nearLimitRate"; did you mean "nearLimitRatio"\?/)
  })

  it.each(['', ' api', 'a\nb', 'x'.repeat(129), 42])(
    'createLimiter refuses the name %j with a TypeError naming the option',
    (name) => {
      expect(() => createLimiter({ rules, name: name as string })).toThrow(/createLimiter: name must be/)
    },
  )

  it("names a limiter 'default' unless told otherwise", () => {
    expect(createLimiter({ rules }).name).toBe('default')
    expect(createLimiter({ rules, name: 'shop:POST /api/orders' }).name).toBe('shop:POST /api/orders')
  })

  it('rejects a bad prefix with a TypeError naming it', () => {
    expect(() => dianaMetrics(createLimiter({ rules }), { prefix: 'no spaces' })).toThrow(/prefix/)
  })

  it('loads prom-client only when metrics are asked for', async () => {
    const script = `
      import { createRequire } from 'node:module'
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('prom-client'))
      const core = await import('./src/index.ts')
      await import('./adapters/express.ts'); await import('./adapters/fastify.ts'); await import('./adapters/koa.ts')
      const metrics = await import('./src/metrics/index.ts')
      const before = loaded()
      metrics.dianaMetrics(core.createLimiter({ rules: [] }))
      console.log(JSON.stringify({ before, after: loaded() }))`
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: new URL('../..', import.meta.url).pathname,
      },
    )
    expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual({ before: false, after: true })
  })
})
