import type { CompiledRule } from './rules/compiled-rule'

/**
 * What a rate-limiting strategy is to the engine: a value with a pure state-transition
 * function. The engine never branches on algorithm names, so a registered algorithm is as
 * first-class as a built-in one.
 */

/** A small tuple of numbers, the whole per-key state. `undefined` means "never seen". */
export type AlgorithmState = readonly number[]

export interface StepInput {
  /** Epoch milliseconds. */
  now: number
  /** Cost units of this request. */
  cost: number
}

/** The numeric parameters of one rule, resolved and validated. */
export interface RuleParams {
  /** L: cost units per window. */
  readonly limit: number
  /** W in milliseconds. */
  readonly windowMs: number
  /** B as written (each algorithm applies its own default). */
  readonly burst: number | undefined
  /** Algorithm-specific mode (e.g. leaky bucket `police`). */
  readonly mode: string | undefined
}

/** One rule's verdict on one request; the fields follow the contract's `Decision`. */
export interface RuleVerdict {
  allowed: boolean
  remaining: number
  resetMs: number
  retryAfterMs: number
  delayMs: number
}

export interface StepResult {
  /** The state to keep if the request is admitted by every rule. */
  state: AlgorithmState
  decision: RuleVerdict
}

export interface Algorithm {
  /** Length of the state tuple; stores may lay states out flat. */
  readonly stateSize: number
  /** Whether rules of this algorithm may set `burst`. */
  readonly acceptsBurst: boolean
  /**
   * Units are permits held while a request is in flight, not spent: every check that applied a
   * rule of this algorithm gets a Decision with `release()`, which gives them back through
   * `Store.refund` with `heldMs`.
   */
  readonly permits?: true
  /**
   * How the Redis store may lease this algorithm's quota (rule field `lease`, see
   * docs/redis.md): `'window'` when units are counted per aligned window of W ms (a slice is
   * spent within the window it was taken in, and ends with it); `'bucket'` when units refill
   * a bucket of capacity `burst` (a slice is held at most the lease's `ttl`, and held units are
   * kept out of the bucket meanwhile). Either way `remaining` of a step with cost 0 must be the
   * units a request could take now, and `refund` must exist. Absent: rules of this algorithm
   * cannot be leased.
   */
  readonly lease?: 'window' | 'bucket'
  /** Values accepted for `mode`; the first one is the default. Absent: `mode` is rejected. */
  readonly modes?: readonly string[]
  /** Extra checks on a rule's parameters; returns a message naming the problem, or undefined. */
  validate?(params: RuleParams): { field: 'limit' | 'window' | 'burst' | 'mode'; message: string } | undefined
  /**
   * Pure: the verdict on a request of `input.cost` at `input.now` given the stored state.
   * A denied request consumes nothing: its returned state must mean the same as the input
   * state. It may still differ from it (a bucket re-anchored to now after the clock stepped
   * back), and then the stores keep it: the memory store writes a denied state whose numbers
   * changed, the Redis store one whose Lua step returned another table that encodes
   * differently. So return the numbers unchanged when a denial moves nothing on.
   */
  step(state: AlgorithmState | undefined, input: StepInput, rule: RuleParams): StepResult
  /**
   * Optional: `step` without allocating, which the memory store calls on the request path when
   * present. Writes the next state into `next` (`stateSize` numbers) and every field of
   * `verdict`, exactly as `step` would return them. {@link stepFromStepInto} derives `step`
   * from it, so the arithmetic is written once.
   */
  stepInto?(
    state: AlgorithmState | undefined,
    now: number,
    cost: number,
    rule: RuleParams,
    next: number[],
    verdict: RuleVerdict,
  ): void
  /**
   * The Lua twin of `step`, needed only to run this algorithm in the Redis store. A Lua chunk
   * that returns `function(state, now, cost, limit, window, burst, mode)`, where `state` is a
   * table of `stateSize` numbers or nil, `burst` and `mode` are nil when unset; the function
   * returns `allowed, nextState, remaining, resetMs, retryAfterMs, delayMs` with the same
   * arithmetic as `step`, and optionally a 7th value `keepMs`. The chunk may use the locals
   * `whole_floor`, `whole_ceil` and `INF` (math.huge) that the store defines around it, and no
   * globals. The key expires `keepMs` (default `resetMs`) after a write, so a state must mean
   * the same as none once that has passed. A denial that leaves the state as it was should
   * return the `state` table itself: the store then skips encoding and writing it (any other
   * table is encoded, and written if that differs from what the key holds).
   */
  readonly lua?: string
  /**
   * Optional: gives back up to `cost` units the key was charged before (see `Limiter.refund`),
   * as far as its state at `now` holds them: a counter never below 0, a bucket never above its
   * capacity, a queue never shorter than empty. Returns the state to keep, or undefined when
   * there is nothing to give back (no state, an empty counter, a full bucket). Pure, like `step`.
   * Without it, `refund` on a rule of this algorithm is a TypeError naming the rule.
   *
   * `heldMs`: how long ago, in ms on the caller's monotonic clock, the units being given back
   * were taken (a {@link permits} algorithm's release); undefined when unknown (a plain
   * `limiter.refund`). Rate algorithms ignore it.
   */
  refund?(
    state: AlgorithmState | undefined,
    now: number,
    cost: number,
    rule: RuleParams,
    heldMs?: number,
  ): AlgorithmState | undefined
  /**
   * The Lua twin of `refund`, needed only to refund in the Redis store: a Lua chunk that
   * returns `function(state, now, cost, limit, window, burst, mode, held_ms)` → the new state
   * table, or nil when there is nothing to give back, with the same arithmetic as `refund`;
   * `held_ms` is `heldMs` (nil when unknown). The same
   * locals as for {@link lua} are defined around it. The store keeps the key's expiry: a
   * refund only brings the moment its state stops mattering closer.
   */
  readonly luaRefund?: string
}

/** An algorithm's allocation-free step (see {@link Algorithm.stepInto}). */
export type StepInto = NonNullable<Algorithm['stepInto']>

/** A verdict to be filled in by `stepInto`; every field is overwritten. */
export function blankVerdict(): RuleVerdict {
  return { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: 0, delayMs: 0 }
}

/** The pure `step` of an algorithm written as `stepInto`. */
export function stepFromStepInto(stepInto: StepInto, stateSize: number): Algorithm['step'] {
  return (state, { now, cost }, rule) => {
    const next = new Array<number>(stateSize).fill(0)
    const verdict = blankVerdict()
    stepInto(state, now, cost, rule, next, verdict)
    return { state: next, decision: verdict }
  }
}

/** The algorithm's `refund`, or a TypeError naming the rule when it has none. */
export function refundOf(rule: CompiledRule): NonNullable<Algorithm['refund']> {
  const refund = rule.algorithm.refund
  if (typeof refund !== 'function') {
    throw new TypeError(
      `refund: rule "${rule.name}": algorithm "${rule.algorithmName}" cannot give units back (it has no Algorithm.refund)`,
    )
  }
  return refund
}
