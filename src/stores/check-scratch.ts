import { type AlgorithmState, blankVerdict, type RuleVerdict } from '../algorithm'
import type { StateTable } from './state-table'

/** One applicable rule's part of a check in the memory store. */
export class RuleScratch {
  table: StateTable
  /** The key's slot in `table`, or -1 when the key has no state. */
  slot = -1
  /** The key's state as read from `table` (`stateSize` numbers). */
  readonly current: number[]
  /** A row an allocation-free step writes the next state into. */
  readonly spare: number[]
  /** The next state: `spare`, or what a `step` returned. */
  next: AlgorithmState
  /** Whether the key was found under a `blockFor` penalty. */
  blocked = false
  /**
   * The verdict an allocation-free step writes into when its caller does not keep verdicts
   * beyond the check (`evaluateInto`, `charge`).
   */
  readonly verdict: RuleVerdict = blankVerdict()

  constructor(table: StateTable, stateSize: number) {
    this.table = table
    this.current = new Array<number>(stateSize).fill(0)
    this.spare = new Array<number>(stateSize).fill(0)
    this.next = this.spare
  }

  /** Stores the next state for `key`, in the slot the step read it from. */
  write(key: string): void {
    this.table.write(key, this.slot, this.next)
  }
}

/**
 * The memory store's working space for one check, by position in the applicable rules: each
 * rule's table, the key's slot, the state read and the state stepped to. All-or-nothing needs
 * it between stepping every rule and writing any. One per store, reused by every check: a check
 * is synchronous from start to end, and an algorithm's step is pure (it cannot check through
 * the store meanwhile), so no two checks ever use it at once. Nothing in it is read before
 * being written in the same check.
 */
export class CheckScratch {
  #rules: RuleScratch[] = []

  /** The working space of the rule at `position`, for `table` and states of `stateSize` numbers. */
  at(position: number, table: StateTable, stateSize: number): RuleScratch {
    const scratch = this.#rules[position]
    if (scratch === undefined || scratch.current.length !== stateSize)
      return this.#make(position, table, stateSize)
    scratch.table = table
    return scratch
  }

  #make(position: number, table: StateTable, stateSize: number): RuleScratch {
    const scratch = new RuleScratch(table, stateSize)
    this.#rules[position] = scratch
    return scratch
  }

  /** The working space `at` gave out for `position` earlier in this check. */
  rule(position: number): RuleScratch {
    return this.#rules[position] as RuleScratch
  }

  /** Lets go of the tables (and the states they hold) the last check used. */
  clear(): void {
    this.#rules = []
  }
}
