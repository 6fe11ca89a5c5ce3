/**
 * A check that an exact rule denies takes nothing from a leased rule's quota, as an exact check
 * would not (docs/redis.md, "Leased quotas": all-or-nothing). The units it took from the slice
 * while the exact rules were asked must come back even when the next slice was asked for
 * meanwhile (its own prefetch, or another check's), or a client denied by its own per-account
 * rule could spend the global quota of everyone else.
 */
import { expect, it } from 'vitest'
import { createFakeClock } from '../../../support/fake-clock'
import { describeLeaseAttack, globalRule as global, perAccountRule } from './attack-support'

const perAccount = perAccountRule(1)

describeLeaseAttack('leased quotas: a check an exact rule denies takes nothing', (suite) => {
  it('one costly check denied by its account rule leaves the global quota whole', async () => {
    const clock = createFakeClock()
    const a = suite.fleet.instance([global({ maxSlice: 10 }), perAccount], clock)
    expect((await a.limiter.check({ account: 'x' })).allowed).toBe(true)
    // Denied by per-account (1 per hour); exactly, it would take nothing of the global 1,000.
    expect((await a.limiter.check({ account: 'x' }, { cost: 900 })).allowed).toBe(false)
    await a.limiter.close()
    // Another instance, deciding the global rule exactly, finds the 999 left.
    const b = suite.fleet.instance([global(undefined)], clock)
    expect((await b.limiter.check({}, { cost: 999 })).allowed).toBe(true)
  })

  it('many denied checks in flight at once leave the global quota whole', async () => {
    const clock = createFakeClock()
    const a = suite.fleet.instance([global({ maxSlice: 10 }), perAccount], clock)
    expect((await a.limiter.check({ account: 'x' })).allowed).toBe(true)
    const denied = await Promise.all(Array.from({ length: 300 }, () => a.limiter.check({ account: 'x' })))
    expect(denied.every((d) => !d.allowed)).toBe(true)
    await a.limiter.close()
    const b = suite.fleet.instance([global(undefined)], clock)
    expect((await b.limiter.check({}, { cost: 999 })).allowed).toBe(true)
  })

  it('a denied costly check leaves no slice beyond maxSlice on the instance: the others are not starved', async () => {
    const clock = createFakeClock()
    const a = suite.fleet.instance([global({ maxSlice: 10 }), perAccount], clock)
    expect((await a.limiter.check({ account: 'x' })).allowed).toBe(true)
    expect((await a.limiter.check({ account: 'x' }, { cost: 900 })).allowed).toBe(false)
    // Instance a stays up, holding what it holds; what it holds unused is at most what the
    // documented bound allows one instance (maxSlice, or its last slice and the next: 2 x 10).
    const b = suite.fleet.instance([global(undefined)], clock)
    expect((await b.limiter.check({}, { cost: 999 - 20 })).allowed).toBe(true)
  })
})
