import type { BuiltInAlgorithm, BuiltInDimension } from '../types'

/**
 * A rule as written by users, in code or in a config file: both are read by `ruleSchema`
 * (src/rules/rule-schema.ts), whose descriptions are these doc comments (kept alike by
 * test/config/option-docs.test.ts).
 */
export interface Rule {
  /**
   * Unique name: 1 to 64 letters, digits, `_`, `-` or `.`, starting with a letter or digit. It
   * is also the policy name in the RateLimit headers.
   */
  name: string
  /**
   * What the quota is counted per: `global`, `account`, `device`, `resource`, `ip` or a
   * registered dimension. A list of up to 8 is a composite key (e.g. `['account', 'resource']`).
   */
  dimension: BuiltInDimension | (string & {}) | string[]
  /**
   * `fixed-window`, `sliding-window`, `token-bucket`, `leaky-bucket`, `concurrency` (see
   * docs/algorithms.md), `adaptive-concurrency` (see docs/concurrency.md), or a registered algorithm.
   */
  algorithm: BuiltInAlgorithm | (string & {})
  /** L: requests (cost units) per window. */
  limit: number
  /**
   * W: milliseconds, or a duration such as `'500ms'`, `'1s'`, `'1m'`, `'1h'`, `'1d'`. Required,
   * except for `adaptive-concurrency`, where it is how long an unreleased permit is held before
   * it is reclaimed.
   * @default adaptive-concurrency: 60s
   */
  window?: number | string
  /**
   * `adaptive-concurrency` only: the learned in-flight limit never falls below this (`limit` is
   * the most it grows to). Keep it under the service's real capacity.
   * @default 1
   */
  minLimit?: number
  /**
   * B: bucket capacity (token bucket) or queue length (leaky bucket); other algorithms take
   * none.
   * @default token-bucket: `limit`; leaky-bucket: 0
   */
  burst?: number
  /**
   * Leaky bucket only: `shape` delays requests, `police` passes them at once.
   * @default 'shape'
   */
  mode?: 'shape' | 'police'
  /**
   * Narrows the rule to some resources and methods: `path` is a glob on the resource path or
   * a list of up to 32 (see docs/configuration.md), `methods` a list of HTTP methods (GET
   * covers HEAD too, which frameworks answer with the GET handler).
   * @default every path and method
   */
  match?: { path?: string | string[]; methods?: string[] }
  /**
   * Count and report, never deny.
   * @default false
   */
  shadow?: boolean
  /**
   * This instance's limit (per window) while the shared store (Redis) is unreachable; `burst`
   * is scaled alike. Shared counters ignore it.
   * @default `limit` divided by the live instances
   */
  fallbackLimit?: number
  /**
   * A penalty: once this rule denies a key, the key is denied for this long (ms, or a duration
   * such as `'10m'`, at most `'365d'`), whatever its quota says; `retryAfterMs` is then the
   * block's remaining time (or longer, if the rule itself would still deny when it ends).
   * `limiter.reset` lifts it. Ignored on shadow rules.
   * @default none
   */
  blockFor?: number | string
  /**
   * Redis store: instead of a script call per check, each instance takes slices of the key's
   * quota from Redis and decides locally against them, asking for the next slice before it
   * runs out (see docs/redis.md, "Leased quotas"). The fleet never admits more than the exact
   * rule would; what sits unused in other instances' slices is bounded. `true`, or tuning.
   * fixed-window, sliding-window and token-bucket only; not with `blockFor`. Other stores
   * decide exactly and ignore it.
   * @default false
   */
  lease?: boolean | RuleLease
  /**
   * Other parameters, or no limit, for some values of the rule's dimension: VIP accounts, an
   * internal service's address. Single-dimension rules only (not `global`). The first override
   * whose `values` match the subject's value applies; other values get the rule as written.
   * Each value keeps its own state, as under the rule itself.
   *
   * At most 64 overrides and 1,000 values per rule, each value 1 to 256 characters. A value
   * with `*` or `?` is a glob (as in `match.path`, `*` does not cross `/`); glob values count
   * toward the rule set's glob budget. A subject value longer than 256 characters matches none.
   * @default none
   * @example [{ values: ['acct-vip-1', 'partner-*'], limit: 1000 }, { values: ['10.0.0.7'], unlimited: true }]
   */
  overrides?: RuleOverride[]
}

/** Tuning of a leased rule (see {@link Rule.lease}). */
export interface RuleLease {
  /**
   * The most units one slice holds. Quota left unused when the pool runs dry is at most
   * (instances − 1) × maxSlice per window (or bucket), so smaller is more exact and larger asks
   * Redis less often.
   * @default 1% of the capacity (`burst`, else `limit`), at least 1
   */
  maxSlice?: number
  /**
   * token-bucket only: how long an instance may hold a slice (ms, or a duration such as
   * `'500ms'`, at most `'1m'`). Held tokens count against the bucket until then, so that the
   * bucket's promise holds for the fleet. Slices of window algorithms end with their window.
   * @default 1s, or the window if shorter
   */
  ttl?: number | string
}

/** Parameters of a {@link Rule} for some values of its dimension (see {@link Rule.overrides}). */
export interface RuleOverride {
  /**
   * Values of the rule's dimension: exact, or globs with `*` and `?` (as in `match.path`).
   */
  values: string[]
  /** L for these values. @default the rule's `limit` */
  limit?: number
  /** W for these values. @default the rule's `window` */
  window?: number | string
  /** B for these values, where the algorithm takes one. @default the rule's `burst` */
  burst?: number
  /**
   * The rule does not limit these values at all (other rules still do). Goes with no `limit`,
   * `window` or `burst`.
   * @default false
   */
  unlimited?: boolean
}
