import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/parse-config'
import { createLimiter } from '../../src/limiter'
import { compilePathGlobs } from '../../src/rules/compile-rules'
import { MAX_GLOB_UNITS_PER_RULE_SET } from '../../src/rules/glob'
import type { Rule } from '../../src/rules/rule'

// The costliest glob the schema takes: every `a` read opens one more way to match, so a run of
// `a`s keeps hundreds of automaton states alive, and runs of different lengths meet more sets
// of them than any table holds. The last character differs per glob (and has no case), so no
// two globs are the same.
const costly = (n: number) => `**${'a'.repeat(253)}${String.fromCharCode(0x4e00 + n)}`
const globList = (index: number, globs: number) =>
  Array.from({ length: globs }, (_, g) => costly(index * 32 + g))
const rule = (index: number, globs: number): Rule => ({
  name: `r${index}`,
  dimension: 'resource',
  algorithm: 'fixed-window',
  limit: 1_000_000,
  window: '1m',
  match: { path: globList(index, globs) },
})
// 8 KB of runs of 254 `a`s: each run walks the automaton through sets of every size.
const resource = `${'a'.repeat(254)}b`.repeat(33).slice(0, 8192)

describe('the path globs of a whole rule set are bounded', () => {
  it('the most rules and globs the schema accepts, all of the costliest kind, are rejected', () => {
    // 500 rules × 32 globs × 256 characters: each check read 8 KB 16,000 times, with tables that
    // never held (about 50 s). Rule 2 is the one that takes the total past the bound.
    const rules = Array.from({ length: 500 }, (_, i) => rule(i, 32))
    expect(() => createLimiter({ rules })).toThrow(
      /^rules\[2\] "r2": match\.path: brings the path globs of all rules to more than \d+ characters/,
    )
  })

  it('a glob with capitals counts twice, its lower-case copy being matched too', async () => {
    const upper = (i: number): Rule => ({
      ...rule(i, 16),
      match: { path: globList(i, 16).map((glob) => glob.replaceAll('a', 'A')) },
    })
    // 16 × 256 = 4,096 characters a rule: four fit, as four in capitals (8,192 each) do not.
    const rules = [0, 1, 2, 3].map((i) => rule(i, 16))
    await createLimiter({ rules }).close()
    expect(() => createLimiter({ rules: [0, 1, 2, 3].map(upper) })).toThrow(
      /^rules\[2\] "r2": match\.path: brings/,
    )
  })

  it('a configuration file names the line and column of the rule that crosses the bound', () => {
    const yaml = [
      'version: 1',
      'rules:',
      ...[0, 1, 2].flatMap((i) => [
        `  - name: r${i}`,
        '    dimension: resource',
        '    algorithm: fixed-window',
        '    limit: 10',
        '    window: 1m',
        '    match:',
        '      path:',
        ...globList(i, 32).map((glob) => `        - "${glob}"`),
      ]),
    ].join('\n')
    const result = parseConfig(yaml, 'x.yaml')
    expect(result.ok).toBe(false)
    const line = 3 + 2 * (7 + 32) + 7 // where rules[2]'s list of globs starts
    expect(String((result as { error: Error }).error.message)).toMatch(
      new RegExp(`^x\\.yaml:${line}:9: rules\\[2\\]\\.match\\.path: brings the path globs of all rules`),
    )
  })

  it('the largest rule set within the bound, all of the costliest kind, reads an 8 KB resource in bounded steps', async () => {
    const rules = Array.from({ length: MAX_GLOB_UNITS_PER_RULE_SET / (32 * 256) }, (_, i) => rule(i, 32))
    const limiter = createLimiter({ rules })
    expect((await limiter.check({ resource })).rule).toBeUndefined()
    await limiter.close()
    // What one check costs, rule by rule, with the meter the limiter does not expose: at most
    // one step per automaton state per character, and a rule's automaton has one state per
    // glob character, one per glob start and one entry.
    let steps = 0
    let bound = 0
    for (const { match } of rules) {
      const globs = match?.path as string[]
      const meter = { steps: 0 }
      expect(compilePathGlobs(globs).test(resource, meter)).toBe(false)
      steps += meter.steps
      const states = globs.reduce((sum, glob) => sum + glob.length + 1, 1)
      bound += (resource.length + 1) * (states + 1)
    }
    expect(steps).toBeLessThanOrEqual(bound)
    // Passes over the path: one per rule, however many globs it lists. Before, 32 per rule.
    expect(bound).toBeLessThanOrEqual(8193 * (MAX_GLOB_UNITS_PER_RULE_SET + 2 * 32 + 4))
  })
})
