import { afterEach, describe, expect, it } from 'vitest'
import { Collector } from '../../src/dashboard/collector'
import { createLimiter, type Limiter } from '../../src/index'
import { createFakeClock } from '../support/fake-clock'

const RULES = [
  { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 5, window: '1h' },
  { name: 'audit', dimension: 'ip', algorithm: 'fixed-window', limit: 1, window: '1h', shadow: true },
] as const

let limiter: Limiter | undefined
afterEach(async () => {
  await limiter?.close()
})

function setup(showKeys = false) {
  const clock = createFakeClock()
  limiter = createLimiter({ rules: RULES.map((rule) => ({ ...rule })), clock })
  const collector = new Collector(limiter, {
    now: clock,
    seconds: 300,
    topK: 3,
    nearLimitRatio: 0.8,
    showKeys,
  })
  collector.start()
  return { clock, collector, limiter }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

describe('Collector', () => {
  it('counts allowed, denied, shadow-denied and near-limit per rule per second', async () => {
    const { clock, collector, limiter } = setup()
    for (let i = 0; i < 7; i++) await limiter.check({ account: 'alice', ip: '192.0.2.1' })
    clock.advance(1000)
    const rules = collector.snapshot()
    const account = rules.find((rule) => rule.name === 'per-account')
    const audit = rules.find((rule) => rule.name === 'audit')
    expect(account?.allowed.at(-1)).toBe(5)
    expect(account?.denied.at(-1)).toBe(2)
    // The 4th and 5th of a limit of 5 used at least 80 %.
    expect(account?.nearLimit.at(-1)).toBe(2)
    // The shadow rule would have denied every check after the first.
    expect(audit?.shadowDenied.at(-1)).toBe(6)
    expect(collector.lastSecond().rules['per-account']).toEqual([5, 2, 0, 2])
    // Five minutes later the counts have left the window.
    clock.advance(300_000)
    expect(sum(collector.snapshot().find((rule) => rule.name === 'per-account')?.allowed ?? [])).toBe(0)
  })

  it('hides key values behind a stable pseudonym unless showKeys', async () => {
    const hidden = setup(false)
    for (let i = 0; i < 8; i++) await hidden.limiter.check({ account: 'alice@example.com' })
    const [entry] = hidden.collector.tops()['per-account'] ?? []
    expect(entry?.count).toBe(3)
    expect(entry?.key).toMatch(/^#[0-9a-f]{12}$/)
    expect(JSON.stringify(hidden.collector.snapshot())).not.toContain('alice')
    await hidden.limiter.close()
    const shown = setup(true)
    for (let i = 0; i < 8; i++) await shown.limiter.check({ account: 'alice@example.com' })
    expect(shown.collector.tops()['per-account']?.[0]?.key).toBe('account=alice@example.com')
  })

  it('holds at most topK keys per rule under a flood of distinct denied keys', async () => {
    const { collector, limiter } = setup(true)
    limiter.setRules([
      { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1h' },
    ])
    for (let i = 0; i < 5000; i++) {
      await limiter.check({ account: `a${i}` })
      await limiter.check({ account: `a${i}` })
    }
    expect(collector.tops()['per-account']).toHaveLength(3)
  })

  it('costs the limiter nothing once stopped', async () => {
    const { collector, limiter } = setup()
    collector.stop()
    expect(limiter.listenerCount('decision')).toBe(0)
  })
})
