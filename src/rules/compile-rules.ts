import type { Algorithm, RuleParams } from '../algorithm'
import {
  ADAPTIVE_CONCURRENCY,
  adaptiveConcurrency,
  DEFAULT_ADAPTIVE_HOLD_MS,
} from '../concurrency/adaptive-algorithm'
import { hint, quoted } from '../did-you-mean'
import type { Dimension } from '../dimension'
import { parseDuration } from '../duration'
import { algorithmNames, dimensionNames, findAlgorithm, findDimension } from '../registry'
import { read } from '../schema/schema'
import type { Subject } from '../types'
import { type CompiledRule, fingerprintOf, type LeaseTuning } from './compiled-rule'
import { compileGlobs, type Glob, MAX_GLOB_UNITS_PER_RULE_SET } from './glob'
import { keyPart } from './key-part'
import { checkOverrides, compileOverrides, globUnitsOf } from './overrides'
import type { Rule } from './rule'
import type { RuleIssue } from './rule-issue'
import { type RuleInput, ruleSchema } from './rule-schema'

export type CompileResult = { ok: true; rules: CompiledRule[] } | { ok: false; issues: RuleIssue[] }

/**
 * Validates a whole rule list and compiles it. Either every rule is good and all are returned,
 * or nothing is and every problem is reported, each with its path (`[index, field]`).
 */
export function compileRules(input: unknown): CompileResult {
  if (!Array.isArray(input)) return { ok: false, issues: [{ path: [], message: 'must be a list of rules' }] }
  const issues: RuleIssue[] = []
  const compiled: CompiledRule[] = []
  const seen = new Map<string, number>()
  let globUnits = 0
  input.forEach((raw, index) => {
    const parsed = read(ruleSchema, raw)
    if (!parsed.ok) {
      for (const issue of parsed.issues) issues.push({ path: [index, ...issue.path], message: issue.message })
      return
    }
    const first = seen.get(parsed.value.name)
    if (first !== undefined) {
      issues.push({
        path: [index, 'name'],
        message: `duplicate rule name "${parsed.value.name}" (also rules[${first}])`,
      })
      return
    }
    seen.set(parsed.value.name, index)
    const path = parsed.value.match?.path
    if (path !== undefined && globUnits <= MAX_GLOB_UNITS_PER_RULE_SET) {
      // Reported once, at the rule that crosses the bound: every rule's globs are read on
      // every check, so it is the set's total that bounds what a check may cost.
      globUnits += pathGlobList(path).reduce((units, glob) => units + glob.length, 0)
      if (globUnits > MAX_GLOB_UNITS_PER_RULE_SET) {
        issues.push({
          path: [index, 'match', 'path'],
          message: `brings the path globs of all rules to more than ${MAX_GLOB_UNITS_PER_RULE_SET} characters (a glob with capitals counts twice: it also matches in lower case)`,
        })
      }
    }
    const overrides = parsed.value.overrides
    if (overrides !== undefined) {
      // Override globs are read on every check of their rule just like path globs: one budget.
      overrides.forEach((override, j) => {
        if (globUnits > MAX_GLOB_UNITS_PER_RULE_SET) return
        globUnits += globUnitsOf(override, parsed.value.dimension)
        if (globUnits > MAX_GLOB_UNITS_PER_RULE_SET) {
          issues.push({
            path: [index, 'overrides', j, 'values'],
            message: `brings the globs of all rules to more than ${MAX_GLOB_UNITS_PER_RULE_SET} characters (path globs and override values together)`,
          })
        }
      })
    }
    const rule = compileRule(parsed.value, index, issues)
    if (rule) compiled.push(rule)
  })
  return issues.length > 0 ? { ok: false, issues } : { ok: true, rules: compiled }
}

/** A readable label for a rule in messages: `rules[1] "account"`. */
export function ruleLabel(input: unknown, index: number): string {
  const raw = Array.isArray(input) ? input[index] : undefined
  const name = raw && typeof raw === 'object' && typeof raw.name === 'string' ? ` ${quoted(raw.name)}` : ''
  return `rules[${index}]${name}`
}

function compileRule(input: RuleInput, index: number, issues: RuleIssue[]): CompiledRule | undefined {
  const fail = (field: string, message: string) => issues.push({ path: [index, field], message })
  const issuesBefore = issues.length

  const algorithm = findAlgorithm(input.algorithm)
  if (!algorithm) {
    fail(
      'algorithm',
      `unknown algorithm ${quoted(input.algorithm)}${hint(input.algorithm, algorithmNames())} (known: ${algorithmNames().join(', ')})`,
    )
  }
  const dimensionList = typeof input.dimension === 'string' ? [input.dimension] : input.dimension
  const dimensions: Dimension[] = []
  for (const name of dimensionList) {
    const dimension = findDimension(name)
    if (dimension) dimensions.push(dimension)
    else
      fail(
        'dimension',
        `unknown dimension ${quoted(name)}${hint(name, dimensionNames())} (known: ${dimensionNames().join(', ')})`,
      )
  }
  if (new Set(dimensionList).size !== dimensionList.length) fail('dimension', 'lists a dimension twice')

  if (!algorithm) return undefined
  const adaptive = algorithm === adaptiveConcurrency
  let windowMs = Number.NaN
  if (input.window !== undefined) windowMs = parseDuration(input.window) ?? Number.NaN
  else if (adaptive) windowMs = DEFAULT_ADAPTIVE_HOLD_MS
  else fail('window', 'is required')
  if (input.minLimit !== undefined) {
    if (!adaptive)
      fail('minLimit', `is not valid for ${input.algorithm}; only ${ADAPTIVE_CONCURRENCY} takes a minLimit`)
    else if (input.minLimit > input.limit) fail('minLimit', `must not be above limit (${input.limit})`)
  }
  if (input.burst !== undefined && !algorithm.acceptsBurst) {
    fail('burst', `is not valid for ${input.algorithm}; only token-bucket and leaky-bucket take a burst`)
  }
  if (input.mode !== undefined) {
    if (!algorithm.modes) fail('mode', `is not valid for ${input.algorithm}`)
    else if (!algorithm.modes.includes(input.mode)) {
      fail('mode', `must be one of ${algorithm.modes.join(', ')}${hint(input.mode, algorithm.modes)}`)
    }
  }
  const params: RuleParams = {
    limit: input.limit,
    windowMs,
    burst: input.burst,
    mode: input.mode ?? algorithm.modes?.[0],
  }
  const lease = leaseOf(input, algorithm, fail)
  const problem = algorithm.validate?.(params)
  if (problem) fail(problem.field, problem.message)
  // Overrides are checked against the rule's parameters: only once those are known good.
  const plans =
    input.overrides === undefined || issues.length > issuesBefore
      ? []
      : checkOverrides(input, index, dimensionList, dimensions[0], algorithm, params, issues)
  // With any issue in the set nothing compiled is used: its globs are not worth compiling.
  if (issues.length > 0) return undefined

  const shared = {
    name: input.name,
    index,
    algorithmName: input.algorithm,
    algorithm,
    dimensions: dimensionList,
    shadow: input.shadow === true,
    blockMs:
      input.blockFor === undefined || input.shadow === true ? undefined : parseDuration(input.blockFor),
    subjectKey: subjectKeyReader(dimensions, input.match),
    lease,
  }
  return {
    ...shared,
    rule: input as Rule,
    params,
    // minLimit is no RuleParam (only one algorithm has it), yet it is part of what is counted.
    fingerprint: fingerprintOf(
      input.name,
      dimensionList,
      input.minLimit === undefined ? input.algorithm : `${input.algorithm}/${input.minLimit}`,
      params,
    ),
    overrides: plans.length === 0 ? undefined : compileOverrides(shared, plans, dimensions[0] as Dimension),
    variant: false,
  }
}

/** The rule's `lease`, read; undefined when it is not leased. Problems go to `fail`. */
function leaseOf(
  input: RuleInput,
  algorithm: Algorithm,
  fail: (field: string, message: string) => void,
): LeaseTuning | undefined {
  const lease = input.lease
  if (lease === undefined || lease === false) return undefined
  if (algorithm.lease === undefined) {
    fail(
      'lease',
      `is not valid for ${input.algorithm}; only fixed-window, sliding-window and token-bucket quotas can be leased (a leaky bucket spaces requests in one shared queue, and permits must be released where they were taken)`,
    )
    return undefined
  }
  if (input.blockFor !== undefined) {
    fail(
      'lease',
      'cannot go with blockFor: a block must reach every instance at once, so keep this rule exact',
    )
    return undefined
  }
  if (lease === true) return { maxSlice: undefined, ttlMs: undefined }
  if (lease.ttl !== undefined && algorithm.lease !== 'bucket') {
    fail('lease', `ttl is for token-bucket only; slices of ${input.algorithm} end with their window`)
    return undefined
  }
  return { maxSlice: lease.maxSlice, ttlMs: lease.ttl === undefined ? undefined : parseDuration(lease.ttl) }
}

/**
 * The globs a rule's `match.path` stands for: each as written and, if it has capitals, in
 * lower case too, since adapters lower-case the resource where the framework routes
 * case-insensitively and `/API/Seckill/**` must still catch it there. Where routing is
 * case-sensitive this can only match more (`/API/**` also limits `/api/x`), never less.
 * Lower case can be longer (`'İ'.toLowerCase()` is two code units), so lengths are counted
 * on this list.
 */
function pathGlobList(path: string | readonly string[]): string[] {
  const globs: string[] = []
  for (const glob of typeof path === 'string' ? [path] : path) {
    globs.push(glob)
    const lower = glob.toLowerCase()
    if (lower !== glob) globs.push(lower)
  }
  return globs
}

/**
 * All of a rule's path globs, lower-case copies included, as one automaton: a check reads
 * the resource once per rule, however many globs the rule lists.
 */
export function compilePathGlobs(path: string | readonly string[]): Glob {
  return compileGlobs(pathGlobList(path))
}

/**
 * A rule's methods, upper case. GET brings HEAD with it: every framework answers HEAD with the
 * GET route's handler (Express, Fastify's `exposeHeadRoutes`, @koa/router, Hono), which does
 * all its work before the body is dropped, so a `methods: [GET]` rule that let HEAD by would
 * let a client run the handler without limit.
 */
function methodSet(methods: readonly string[]): Set<string> {
  const set = new Set(methods.map((m) => m.toUpperCase()))
  if (set.has('GET')) set.add('HEAD')
  return set
}

/** Built once per rule, so a check only runs the tests this rule actually has. */
function subjectKeyReader(dimensions: Dimension[], match: RuleInput['match']) {
  const paths = match?.path === undefined ? undefined : compilePathGlobs(match.path)
  const methods = match?.methods === undefined ? undefined : methodSet(match.methods)
  const matches =
    paths === undefined && methods === undefined
      ? undefined
      : (subject: Subject): boolean => {
          if (paths) {
            const resource = subject.resource
            if (typeof resource !== 'string' || !paths.test(resource)) return false
          }
          if (methods) {
            const method = subject.method
            if (typeof method !== 'string' || !methods.has(method.toUpperCase())) return false
          }
          return true
        }
  const [only] = dimensions
  if (dimensions.length === 1 && only) {
    return (subject: Subject): string | undefined => {
      if (matches !== undefined && !matches(subject)) return undefined
      const value = only.valueFrom(subject)
      return value === undefined ? undefined : keyPart(value)
    }
  }
  return (subject: Subject): string | undefined => {
    if (matches !== undefined && !matches(subject)) return undefined
    let key = ''
    for (let i = 0; i < dimensions.length; i++) {
      const value = (dimensions[i] as Dimension).valueFrom(subject)
      if (value === undefined) return undefined
      key = i === 0 ? keyPart(value) : `${key}|${keyPart(value)}`
    }
    return key
  }
}
