import type { Algorithm, RuleParams } from '../algorithm'
import type { Subject } from '../types'
import type { RuleOverrides } from './overrides'
import type { Rule } from './rule'

/** A validated rule, ready for the request path: no parsing or lookups left to do per check. */
export interface CompiledRule {
  readonly name: string
  /** Position in the rule list; ties for the binding rule go to the lower one. */
  readonly index: number
  readonly rule: Rule
  readonly algorithmName: string
  readonly algorithm: Algorithm
  readonly params: RuleParams
  readonly dimensions: readonly string[]
  readonly shadow: boolean
  /**
   * `blockFor` in ms: once this rule denies a key, the key is denied this long. Undefined when
   * not set, and for shadow rules, which never deny. Not part of the fingerprint: a reload
   * that only changes the penalty keeps the counters (and the blocks in force).
   */
  readonly blockMs: number | undefined
  /**
   * The rule's `lease`, when set (true or tuning): the Redis store leases its quota. Not part
   * of the fingerprint: leased and exact instances count in the same state, so turning a lease
   * on or off keeps the counts.
   */
  readonly lease: LeaseTuning | undefined
  /**
   * Identity of what is counted (name, dimensions, algorithm and its parameters). Two rules
   * with the same fingerprint share counters, so a reload that keeps a rule keeps its counts.
   * Computed from the definition alone, so nothing process-wide remembers the definitions seen.
   */
  readonly fingerprint: string
  /**
   * The subject's part of the store key (dimension values, made key-safe), or undefined when
   * the rule does not apply to this subject (a dimension is missing or `match` fails).
   */
  subjectKey(subject: Subject): string | undefined
  /**
   * The rule's `overrides`, compiled; undefined when it has none, so that a check pays one
   * test for them. Resolve with `ruleFor` (src/rules/overrides.ts).
   */
  readonly overrides: RuleOverrides | undefined
  /**
   * True for the rule one override makes of its rule for the values it lists: same name,
   * position, dimensions and `match`, the override's parameters, and a fingerprint of its own.
   */
  readonly variant: boolean
}

/** A rule's `lease` tuning, read (see `RuleLease`); undefined fields take their defaults. */
export interface LeaseTuning {
  readonly maxSlice: number | undefined
  readonly ttlMs: number | undefined
}

/** A rule's {@link CompiledRule.fingerprint}: what it counts, and nothing else. */
export function fingerprintOf(
  name: string,
  dimensions: readonly string[],
  algorithm: string,
  params: RuleParams,
): string {
  return JSON.stringify([name, dimensions, algorithm, params])
}
