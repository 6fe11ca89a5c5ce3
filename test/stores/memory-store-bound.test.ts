import { describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { MemoryStore } from '../../src/stores/memory-store'
import { createFakeClock } from '../support/fake-clock'
import { canMeasureHeap, measureHeap } from '../support/heap'
import { mulberry32 } from '../support/prng'

const perAccount: Rule = {
  name: 'per-account',
  dimension: 'account',
  algorithm: 'sliding-window',
  limit: 1,
  window: '1h',
}

describe('memory store bound', () => {
  it(`1,000,000 checks on random distinct keys leave exactly maxKeys keys${canMeasureHeap ? ' and bounded heap' : ' (heap not measured: no gc)'}`, async () => {
    const clock = createFakeClock()
    const store = new MemoryStore({ type: 'memory', maxKeys: 10_000 }, clock)
    const limiter = createLimiter({ rules: [perAccount], store, clock })
    const random = mulberry32(2024)
    let allowed = 0
    const growth = await measureHeap(async () => {
      for (let i = 0; i < 1_000_000; i++) {
        // Distinct by construction (the counter), random-looking like real account ids.
        const account = `${(random() * 2 ** 32).toString(36)}-${i.toString(36)}`
        if ((await limiter.check({ account })).allowed) allowed++
        if ((i & 0x3ff) === 0) clock.advance(1)
      }
    })
    expect(allowed).toBe(1_000_000)
    expect(store.size).toBe(10_000)
    if (growth !== undefined) expect(growth).toBeLessThan(50 * 1024 * 1024)
    await limiter.close()
  }, 60_000)

  it('evicts the least recently used key: a key touched recently survives', async () => {
    const clock = createFakeClock()
    const store = new MemoryStore({ type: 'memory', maxKeys: 3 }, clock)
    const limiter = createLimiter({ rules: [perAccount], store, clock })
    const allowed = async (account: string) => (await limiter.check({ account })).allowed
    for (const account of ['a', 'b', 'c']) expect(await allowed(account)).toBe(true)
    expect(await allowed('a')).toBe(false) // a is now the most recent, even though it was denied
    expect(await allowed('d')).toBe(true) // evicts b, the least recently used
    expect(store.size).toBe(3)
    expect(await allowed('a')).toBe(false) // kept its count
    expect(await allowed('b')).toBe(true) // forgotten: a fresh quota (and evicts c)
    expect(await allowed('c')).toBe(true) // forgotten too
    expect(await allowed('d')).toBe(true) // d was the least recent when c came back
  })

  it('the default store is bounded too', async () => {
    const clock = createFakeClock()
    const store = new MemoryStore({ type: 'memory' }, clock)
    const limiter = createLimiter({ rules: [perAccount], store, clock })
    for (let i = 0; i < 120_000; i++) await limiter.check({ account: `u${i}` })
    expect(store.size).toBe(100_000)
  })
})
