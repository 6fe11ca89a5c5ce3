import type { CompiledRule } from '../../../rules/compiled-rule'

/**
 * What one instance holds of one leased key (rule × subject): the units it may still admit
 * on its own, until when, and what it knows of the pool. Times are on the store's local clock;
 * a slice's end is measured from when it was asked for, so it ends no later than Redis ends it,
 * whatever the two clocks read (see docs/redis.md, "Leased quotas").
 */
export class LeaseSlot {
  /** Units this instance may still admit; void from `deadline` on. */
  remaining = 0
  deadline = Number.NEGATIVE_INFINITY
  /**
   * Units taken since the last ask was sent: the most a refund or an undone check may put back,
   * since units taken before were already reported held, and putting those back would hold
   * more than Redis counts.
   */
  spent = 0
  /**
   * Window algorithms: units admitted from this window's slices, the most a refund may put back
   * (as an exact refund gives back at most the window's count). Counted from the first reply
   * known to be of this window: one that arrives while the last slice still lasts was decided in
   * that slice's window; after it ended, the next reply may be of the next window.
   */
  used = 0
  /**
   * Units taken by checks still waiting for their exact rules: reported held when the next
   * slice is asked for, so that a check the exact rules deny can put them back even after that
   * ask (see `LeaseBook`): a denied check takes nothing, as it would exactly.
   */
  pending = 0
  /**
   * Counts the times the units held lapsed (the slice ended before the next came): units taken
   * in an earlier term belong to a slice that is over and never come back into a later one.
   */
  term = 0
  /** Units left in the pool after the last grant, for the verdicts' `remaining`. */
  left = 0
  /** When the rule's state resets, by the last grant's `resetMs`. */
  resetAt = 0
  /** The pool had too little: no asking (and no admitting beyond `remaining`) before then. */
  dryUntil = Number.NEGATIVE_INFINITY
  /** Asking failed: the key is decided exactly until then. */
  failedUntil = Number.NEGATIVE_INFINITY
  /** The last slice's size, so the next is asked for when half of it is spent. */
  lastGrant = 0
  /** This instance's demand on the key: units asked for since `askedAt`, and units per ms. */
  demand = 0
  askedAt: number
  rate = 0
  /** False once the slot left the book (evicted, reset, closed): it is then found anew. */
  live = true
  /** The ask under way, if any: one at a time per key. */
  refilling: Promise<boolean> | undefined

  constructor(
    /** The rule the slice is of (an override's variant, where one applies). */
    readonly rule: CompiledRule,
    /** The subject's part of `key` (see `CompiledRule.subjectKey`). */
    readonly subjectKey: string,
    /** The store key of the rule's state. */
    readonly key: string,
    now: number,
  ) {
    this.askedAt = now
  }

  /** The units this instance may admit at `now`. */
  validAt(now: number): number {
    return now < this.deadline ? this.remaining : 0
  }
}
