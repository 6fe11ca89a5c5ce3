import { execFile } from 'node:child_process'
import type { EventEmitter } from 'node:events'
import { promisify } from 'node:util'
import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import { dianaMetrics } from '../../src/metrics/index'
import type { Evaluation, Store } from '../../src/stores/store'
import type { Rule } from '../../src/types'

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
    expect(text).toMatch(/diana_check_duration_seconds_count 4/)
    expect(text).toMatch(/diana_store_degraded 0/)
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
    expect(limiter.listenerCount('decision')).toBe(0)
    expect(await registry.metrics()).not.toMatch(/diana_/)
    // Registering again works once stopped (no duplicate-name error).
    dianaMetrics(limiter, { registry })
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
