import { expect } from 'vitest'
import type { Decision } from '../../src/decision'
import type { Limiter } from '../../src/limiter'
import type { Subject } from '../../src/types'
import type { FakeClock } from '../support/fake-clock'
import type { ModelDecision, ReferenceLimiter } from '../support/reference-models'

/** Float tolerance for `delayMs`, the one Decision field that may be fractional. */
export const DELAY_TOLERANCE_MS = 1e-6

/**
 * A limiter under test and the reference model, driven by one fake clock. Every `check` goes
 * to both and the decisions must agree field by field; a mismatch names the step and the
 * recent history, so a failing seed can be read without a debugger.
 */
export class Twin {
  readonly #history: string[] = []
  #step = 0

  constructor(
    readonly clock: FakeClock,
    readonly limiter: Limiter,
    readonly model: ReferenceLimiter,
    readonly label: string,
  ) {}

  async check(subject: Subject, cost = 1): Promise<Decision> {
    const now = this.clock()
    const expected = this.model.check(subject, now, cost)
    const actual = await this.limiter.check(subject, { cost })
    const line = `#${this.#step++} t=${now} cost=${cost} subject=${JSON.stringify(subject)} -> ${brief(expected)}`
    this.#history.push(line)
    if (this.#history.length > 12) this.#history.shift()
    expectSameDecision(
      actual,
      expected,
      `${this.label}\n${this.#history.join('\n')}\nactual: ${brief(actual)}`,
    )
    return actual
  }

  /** `limiter.peek` against the model's answer; neither changes anything. */
  async peek(subject: Subject, cost = 1): Promise<Decision> {
    const now = this.clock()
    const expected = this.model.peek(subject, now, cost)
    const actual = await this.limiter.peek(subject, { cost })
    this.#log(`peek t=${now} cost=${cost} subject=${JSON.stringify(subject)} -> ${brief(expected)}`)
    expectSameDecision(
      actual,
      expected,
      `${this.label} (peek)\n${this.#history.join('\n')}\nactual: ${brief(actual)}`,
    )
    return actual
  }

  /** `limiter.reset` on both; the checks that follow show whether they agree. */
  async reset(subject: Subject, rule?: string): Promise<void> {
    this.#log(`reset t=${this.clock()} subject=${JSON.stringify(subject)} rule=${rule}`)
    this.model.reset(subject, rule)
    await this.limiter.reset(subject, rule === undefined ? undefined : { rule })
  }

  /** `limiter.refund` on both; the checks that follow show whether they agree. */
  async refund(subject: Subject, cost = 1, rule?: string): Promise<void> {
    const now = this.clock()
    this.#log(`refund t=${now} cost=${cost} subject=${JSON.stringify(subject)} rule=${rule}`)
    this.model.refund(subject, now, cost, rule)
    await this.limiter.refund(subject, rule === undefined ? { cost } : { cost, rule })
  }

  #log(line: string): void {
    this.#history.push(`#${this.#step++} ${line}`)
    if (this.#history.length > 12) this.#history.shift()
  }

  /**
   * After a denial with a finite `retryAfterMs`, checks the contract's definition by moving
   * the clock: one ms earlier the same request is still denied, at the promised time it passes.
   */
  async probeRetry(subject: Subject, cost: number, denied: Decision): Promise<Decision> {
    expect(denied.allowed).toBe(false)
    const wait = denied.retryAfterMs
    expect(Number.isInteger(wait) && wait >= 1, `retryAfterMs ${wait} should be a whole ms >= 1`).toBe(true)
    this.clock.advance(wait - 1)
    const early = await this.check(subject, cost)
    expect(early.allowed, `${this.label}: passed at retryAfterMs - 1 = ${wait - 1}`).toBe(false)
    this.clock.advance(1)
    const onTime = await this.check(subject, cost)
    expect(onTime.allowed, `${this.label}: still denied at retryAfterMs = ${wait}`).toBe(true)
    return onTime
  }
}

function brief(d: Decision | ModelDecision): string {
  const shadow = d.shadowDenied ? ` shadowDenied=${d.shadowDenied.join(',')}` : ''
  return `${d.allowed ? 'allow' : 'deny'} rule=${d.rule} L=${d.limit} rem=${d.remaining} reset=${d.resetMs} retry=${d.retryAfterMs} delay=${d.delayMs}${shadow}`
}

export function expectSameDecision(actual: Decision, expected: ModelDecision, context: string): void {
  const delayClose = Math.abs(actual.delayMs - expected.delayMs) <= DELAY_TOLERANCE_MS
  const normalised = {
    allowed: actual.allowed,
    rule: actual.rule,
    limit: actual.limit,
    remaining: actual.remaining,
    resetMs: actual.resetMs,
    retryAfterMs: actual.retryAfterMs,
    delayMs: delayClose ? expected.delayMs : actual.delayMs,
    degraded: actual.degraded,
    shadowDenied: actual.shadowDenied,
  }
  expect(normalised, context).toEqual({ ...expected, shadowDenied: expected.shadowDenied })
}
