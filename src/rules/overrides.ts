import type { Algorithm, RuleParams } from '../algorithm'
import type { Decision } from '../decision'
import { type Dimension, globalDimension } from '../dimension'
import { parseDuration } from '../duration'
import type { Subject } from '../types'
import { type CompiledRule, fingerprintOf } from './compiled-rule'
import { compileGlobs, type Glob } from './glob'
import type { Rule } from './rule'
import type { RuleIssue } from './rule-issue'
import {
  MAX_OVERRIDE_VALUE_LENGTH,
  MAX_OVERRIDE_VALUES_PER_RULE,
  type OverrideInput,
  type RuleInput,
} from './rule-schema'

/**
 * Per-value overrides of a rule. Each override that is not `unlimited` becomes a variant of
 * its rule: a {@link CompiledRule} with the same name, position, dimension and `match`, the
 * override's parameters (what it leaves out comes from the rule), and a fingerprint made like
 * any rule's, from name, dimensions, algorithm and those parameters. Not from the override's
 * place in the list or its values: so a reload that edits one override keeps the counters of
 * every value whose parameters stay the same, wherever it is listed, and a value's state is
 * its own under a variant just as under the rule (the store key still ends in the value).
 *
 * A value is resolved as the dimension gives it, before it is made key-safe (long values are
 * hashed into keys): exact values by one hash lookup, globs by one automaton per override
 * that has any, read only until an earlier match settles it.
 */
export interface RuleOverrides {
  /** The variants, one per override that is not `unlimited`; the stores count under them. */
  readonly variants: readonly CompiledRule[]
  /** See {@link ruleFor}. */
  ruleFor(subject: Subject, base: CompiledRule): CompiledRule | undefined
}

/** The fields of a compiled rule that a variant shares with its rule. */
type Shared = Omit<CompiledRule, 'overrides' | 'variant' | 'fingerprint' | 'params' | 'rule'>

/** One checked override: the parameters its values get, or `unlimited`. */
export interface OverridePlan {
  readonly values: readonly string[]
  readonly params: RuleParams | 'unlimited'
  /** The override as a rule of its own, as written (for the Redis fallback and messages). */
  readonly rule: Rule | undefined
}

/**
 * The rule that counts `subject` under `rule`: the rule itself, the variant of the first
 * override whose values match the subject's value, or undefined when that override is
 * `unlimited` (the rule then does not apply). Call only once `rule.subjectKey(subject)` gave
 * a key, so the value is there and the rule's `match` passed.
 */
export function ruleFor(rule: CompiledRule, subject: Subject): CompiledRule | undefined {
  return rule.overrides === undefined ? rule : rule.overrides.ruleFor(subject, rule)
}

/** Every rule the stores may count under: the rules in force and their variants. */
export function withVariants(rules: readonly CompiledRule[]): readonly CompiledRule[] {
  if (!rules.some((rule) => rule.overrides !== undefined)) return rules
  return rules.flatMap((rule) => (rule.overrides === undefined ? [rule] : [rule, ...rule.overrides.variants]))
}

/**
 * The windows of decisions that a variant bound, since a decision names only its rule and the
 * `RateLimit-Policy` header's `w` must be the override's. Kept by decision object, weakly: no
 * decision is held, and only those of variants are noted.
 */
export class VariantWindows {
  readonly #windows = new WeakMap<Decision, number>()

  /** Notes `decision`'s window if a variant among `rules` (the rules it was decided by) bound it. */
  note(rules: readonly CompiledRule[], decision: Decision): void {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      if (rule.variant && rule.name === decision.rule) {
        this.#windows.set(decision, rule.params.windowMs)
        return
      }
    }
  }

  of(decision: Decision): number | undefined {
    return this.#windows.get(decision)
  }
}

/** A value with `*` or `?` is a glob; any other stands for itself. */
export function isGlobValue(value: string): boolean {
  return value.includes('*') || value.includes('?')
}

/**
 * The values an override stands for: as written and, on a `resource` rule, each with capitals
 * in lower case too. Adapters lower-case the resource where the framework routes
 * case-insensitively (Express by default), so `/Admin/Export` would otherwise never be met
 * there; `match.path` globs are widened the same way (see `pathGlobList`). Where routing is
 * case-sensitive this can only match more, never fewer.
 */
export function overrideValues(override: OverrideInput, dimension: unknown): readonly string[] {
  const name = Array.isArray(dimension) && dimension.length === 1 ? dimension[0] : dimension
  if (name !== 'resource') return override.values
  const values: string[] = []
  for (const value of override.values) {
    values.push(value)
    const lower = value.toLowerCase()
    if (lower !== value) values.push(lower)
  }
  return values
}

/**
 * Code units of the globs among an override's values (lower-case copies included, see
 * {@link overrideValues}), for the rule set's glob budget.
 */
export function globUnitsOf(override: OverrideInput, dimension: unknown): number {
  let units = 0
  for (const value of overrideValues(override, dimension)) if (isGlobValue(value)) units += value.length
  return units
}

/**
 * Checks the overrides of a rule whose own fields passed (`params` are its parameters),
 * pushing an issue per problem at the field it concerns; returns what each override gives
 * its values.
 */
export function checkOverrides(
  input: RuleInput,
  index: number,
  dimensions: readonly string[],
  dimension: Dimension | undefined,
  algorithm: Algorithm,
  params: RuleParams,
  issues: RuleIssue[],
): OverridePlan[] {
  const overrides = input.overrides ?? []
  if (dimensions.length !== 1) {
    issues.push({ path: [index, 'overrides'], message: 'apply to single-dimension rules only' })
    return []
  }
  if (dimensions[0] === 'global' || dimension === globalDimension) {
    issues.push({
      path: [index, 'overrides'],
      message: 'apply to the values of one dimension; a global rule has none',
    })
    return []
  }
  const plans: OverridePlan[] = []
  let values = 0
  overrides.forEach((override, j) => {
    const at = (...field: string[]) => [index, 'overrides', j, ...field]
    const fail = (field: string | undefined, message: string) =>
      issues.push({ path: field === undefined ? at() : at(field), message })
    if (values <= MAX_OVERRIDE_VALUES_PER_RULE) {
      values += override.values.length
      if (values > MAX_OVERRIDE_VALUES_PER_RULE) {
        fail(
          'values',
          `brings the values of all overrides of this rule to more than ${MAX_OVERRIDE_VALUES_PER_RULE}`,
        )
      }
    }
    const given = (['limit', 'window', 'burst'] as const).filter((field) => override[field] !== undefined)
    if (override.unlimited === true) {
      for (const field of given) fail(field, 'cannot go with unlimited: true')
      plans.push({ values: overrideValues(override, dimensions[0]), params: 'unlimited', rule: undefined })
      return
    }
    if (given.length === 0) {
      fail(undefined, 'must set limit, window or burst, or unlimited: true')
      return
    }
    if (override.burst !== undefined && !algorithm.acceptsBurst) {
      fail('burst', `is not valid for ${input.algorithm}; only token-bucket and leaky-bucket take a burst`)
      return
    }
    const own: RuleParams = {
      limit: override.limit ?? params.limit,
      windowMs:
        override.window === undefined ? params.windowMs : (parseDuration(override.window) ?? Number.NaN),
      burst: override.burst ?? params.burst,
      mode: params.mode,
    }
    const problem = algorithm.validate?.(own)
    if (problem) {
      // A parameter the override inherits can be wrong only together with what it sets.
      if (given.includes(problem.field as 'limit')) fail(problem.field, problem.message)
      else fail(undefined, `with the rule's ${problem.field}: ${problem.message}`)
      return
    }
    plans.push({
      values: overrideValues(override, dimensions[0]),
      params: own,
      rule: variantRule(input, override, own),
    })
  })
  return plans
}

/** The rule as the override's values see it: no overrides, and its own parameters. */
function variantRule(input: RuleInput, override: OverrideInput, params: RuleParams): Rule {
  const { overrides: _overrides, fallbackLimit, ...rest } = input
  const rule: Rule = { ...(rest as Rule), limit: params.limit, window: override.window ?? input.window }
  if (params.burst !== undefined) rule.burst = params.burst
  // The rule's own share while Redis is away, scaled to the override's limit: a VIP keeps
  // its advantage during an outage, as it would with the default share (limit / instances).
  if (fallbackLimit !== undefined) {
    rule.fallbackLimit = Math.max(1, Math.round((fallbackLimit * params.limit) / input.limit))
  }
  return rule
}

/** Compiles checked overrides (see {@link checkOverrides}) onto the rule they belong to. */
export function compileOverrides(
  shared: Shared,
  plans: readonly OverridePlan[],
  dimension: Dimension,
): RuleOverrides {
  const targets: (CompiledRule | undefined)[] = []
  const variants: CompiledRule[] = []
  const exact = new Map<string, number>()
  const globs: { at: number; glob: Glob }[] = []
  plans.forEach((plan, at) => {
    if (plan.params === 'unlimited') {
      targets.push(undefined)
    } else {
      const variant: CompiledRule = {
        ...shared,
        rule: plan.rule as Rule,
        params: plan.params,
        fingerprint: fingerprintOf(shared.name, shared.dimensions, shared.algorithmName, plan.params),
        overrides: undefined,
        variant: true,
      }
      targets.push(variant)
      variants.push(variant)
    }
    const patterns: string[] = []
    for (const value of plan.values) {
      if (isGlobValue(value)) patterns.push(value)
      // First match wins: a value listed again later stays with the override that lists it first.
      else if (!exact.has(value)) exact.set(value, at)
    }
    if (patterns.length > 0) globs.push({ at, glob: compileGlobs(patterns) })
  })
  return {
    variants,
    ruleFor(subject, base) {
      const value = dimension.valueFrom(subject)
      // No listed value is longer, and a glob given a longer one would read all of it.
      if (value === undefined || value.length > MAX_OVERRIDE_VALUE_LENGTH) return base
      let at = exact.get(value) ?? -1
      for (let i = 0; i < globs.length; i++) {
        const entry = globs[i] as { at: number; glob: Glob }
        if (at >= 0 && entry.at >= at) break
        if (entry.glob.test(value)) {
          at = entry.at
          break
        }
      }
      return at < 0 ? base : targets[at]
    },
  }
}
