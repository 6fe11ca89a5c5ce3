import { appendFileSync, writeFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { createLimiter, type Limiter } from '../../src/limiter'
import { MemoryStore } from '../../src/stores/memory-store'
import {
  fakeClock,
  nextEvent,
  recordingLogger,
  scratchConfigFile,
  writeAtomically,
} from '../config/config-helpers'

// A slow editor, a copy over the network or `cat > diana.yaml` writes a file in steps. The
// first part alone can be a valid rules file with fewer rules (or a shorter limit): it may be
// put in force for a moment, but the counters of the rules it lacks must survive it.

const FULL = `version: 1
rules:
  - { name: account, dimension: account, algorithm: fixed-window, limit: 5, window: 1m }
  - { name: device, dimension: device, algorithm: fixed-window, limit: 10, window: 1m }
`
/** The file cut after the first rule: valid YAML, and a valid rules file. */
const FIRST_PART = FULL.slice(0, FULL.indexOf('  - { name: device'))

const scratch = scratchConfigFile()

const remainingOf = async (limiter: Limiter, subject: { account?: string; device?: string }) =>
  (await limiter.check(subject)).remaining

describe('a configuration file written in two steps', () => {
  it('keeps the counters of the rules missing from the first part', async () => {
    writeAtomically(scratch.file, FULL)
    const clock = fakeClock()
    const limiter = createLimiter({ config: scratch.file, clock: clock.now, logger: recordingLogger() })
    scratch.keep(limiter)
    await nextEvent(limiter, 'config')
    for (let i = 0; i < 4; i++) await limiter.check({ account: 'a', device: 'd' })
    expect(await remainingOf(limiter, { device: 'd' })).toBe(5)

    // Step one, in place (truncate and write), then a pause long enough for it to be read.
    const truncated = nextEvent(limiter, 'config')
    writeFileSync(scratch.file, FIRST_PART)
    await truncated
    expect(limiter.rules.map((rule) => rule.name)).toEqual(['account'])
    clock.advance(1000)

    // Step two: the rest lands. The device counter carries on where it was.
    const complete = nextEvent(limiter, 'config')
    writeFileSync(scratch.file, FULL)
    await complete
    expect(limiter.rules.map((rule) => rule.name)).toEqual(['account', 'device'])
    expect(await remainingOf(limiter, { device: 'd' })).toBe(4)
    expect(await remainingOf(limiter, { account: 'a' })).toBe(0)
  })

  it('a rule cut mid-number comes back with its counters when the number is whole again', async () => {
    writeAtomically(scratch.file, FULL)
    const limiter = createLimiter({ config: scratch.file, clock: fakeClock().now, logger: recordingLogger() })
    scratch.keep(limiter)
    await nextEvent(limiter, 'config')
    for (let i = 0; i < 3; i++) await limiter.check({ device: 'd' })

    const cut = nextEvent(limiter, 'config')
    writeFileSync(scratch.file, FULL.replace('limit: 10', 'limit: 1'))
    await cut
    const whole = nextEvent(limiter, 'config')
    writeFileSync(scratch.file, FULL)
    await whole
    expect(await remainingOf(limiter, { device: 'd' })).toBe(6)
  })
})

describe('a configuration file written in pieces', () => {
  it('is taken once it stops changing, not at each pause longer than the debounce', async () => {
    writeAtomically(scratch.file, FULL)
    const limiter = createLimiter({ config: scratch.file, clock: fakeClock().now, logger: recordingLogger() })
    scratch.keep(limiter)
    await nextEvent(limiter, 'config')
    const seen: string[][] = []
    limiter.on('config', (event) => seen.push(event.rules.map((rule) => `${rule.name}=${rule.limit}`)))

    // Each piece but the last leaves a valid rules file (the last cut mid-number: limit 2, not 20).
    const next = FULL.replace('limit: 10', 'limit: 20')
    const cut = next.indexOf('limit: 20') + 'limit: 2'.length
    const complete = nextEvent(limiter, 'config')
    writeFileSync(scratch.file, next.slice(0, FULL.indexOf('  - { name: device')))
    await sleep(150)
    appendFileSync(scratch.file, next.slice(FULL.indexOf('  - { name: device'), cut))
    await sleep(150)
    appendFileSync(scratch.file, next.slice(cut))
    await complete
    expect(seen).toEqual([['account=5', 'device=20']])
  })
})

describe('MemoryStore.retain', () => {
  it('drops the state of a rule that stays away longer than the grace period', async () => {
    const clock = fakeClock()
    const store = new MemoryStore({}, clock.now)
    const limiter = createLimiter({ store, clock: clock.now, rules: [] })
    scratch.keep(limiter)
    const rules = [
      { name: 'account', dimension: 'account', algorithm: 'fixed-window', limit: 5, window: '1h' },
      { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 5, window: '1h' },
    ]
    limiter.setRules(rules)
    await limiter.check({ device: 'd' })
    limiter.setRules(rules.slice(0, 1))
    clock.advance(5_000)
    limiter.setRules(rules)
    expect(await remainingOf(limiter, { device: 'd' })).toBe(3)

    limiter.setRules(rules.slice(0, 1))
    clock.advance(11_000)
    limiter.setRules(rules)
    expect(await remainingOf(limiter, { device: 'd' })).toBe(4)
  })
})
