import { durationSchema, parseDuration } from '../duration'
import {
  array,
  boolean,
  describe,
  nonEmptyString,
  number,
  type ObjectOutput,
  object,
  optional,
  positiveInteger,
  refine,
  string,
  union,
} from '../schema/schema'
import { MAX_GLOB_LENGTH, MAX_GLOBS_PER_RULE } from './glob'

/**
 * The longest `blockFor`: a year. A longer penalty is a ban, which belongs in an access list
 * rather than in a rate limiter's state.
 */
export const MAX_BLOCK_MS = 365 * 86_400_000

const blockForSchema = refine(
  durationSchema,
  (value) => (parseDuration(value) as number) <= MAX_BLOCK_MS,
  'must be a duration such as 500ms, 1s, 1m, 1h, 1d, or a whole number of ms, at most 365d',
)

/** The longest lease `ttl`: held tokens count against their bucket until it ends. */
export const MAX_LEASE_TTL_MS = 60_000

const leaseTtlSchema = refine(
  durationSchema,
  (value) => {
    const ms = parseDuration(value) as number
    return ms >= 1 && ms <= MAX_LEASE_TTL_MS
  },
  'must be a duration such as 500ms or 1s, or a whole number of ms, from 1ms to 1m',
)

/** Rule names become header policy names and key parts, so they are kept plain. */
export const RULE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'

// Lists in a rule are short in any real file; bounding them bounds the work of checking one.
const MAX_DIMENSIONS = 8
const MAX_METHODS = 16
/** Most overrides one rule may list; each is at most one more automaton a check may run. */
export const MAX_OVERRIDES_PER_RULE = 64
/**
 * Most values the overrides of one rule may list together (refused per override by the schema,
 * over all of them by `compileRules`): a VIP list, not a user table, which belongs in a store.
 */
export const MAX_OVERRIDE_VALUES_PER_RULE = 1000
/** Longest override value; a subject value longer than this matches no override. */
export const MAX_OVERRIDE_VALUE_LENGTH = 256

const LIMIT_ERROR = 'must be a whole number of requests, at least 1'
// Bounded because matching a path costs work in proportion to the globs' length (src/rules/glob.ts).
const pathGlob = string(`must be a path glob of at most ${MAX_GLOB_LENGTH} characters`, {
  minLength: 1,
  maxLength: MAX_GLOB_LENGTH,
})
const pathGlobs = union(
  [
    pathGlob,
    array(pathGlob, 'must list at least one path glob', {
      minItems: 1,
      maxItems: MAX_GLOBS_PER_RULE,
      tooMany: `must list at most ${MAX_GLOBS_PER_RULE} path globs`,
    }),
  ],
  'must be a path glob such as /api/** or a list of them',
)

const overrideValue = string(`must be a value or glob of 1 to ${MAX_OVERRIDE_VALUE_LENGTH} characters`, {
  minLength: 1,
  maxLength: MAX_OVERRIDE_VALUE_LENGTH,
})

/**
 * One override: its values and what they get instead of the rule's own parameters. Which
 * fields may go together (`unlimited` alone, else at least one parameter) depends on nothing
 * but the override, yet is checked in `compileRules`, with the parameters that need the
 * algorithm, so that every problem is reported at its own field.
 */
export const overrideSchema = object(
  {
    values: describe(
      array(overrideValue, 'must list at least one value', {
        minItems: 1,
        maxItems: MAX_OVERRIDE_VALUES_PER_RULE,
        tooMany: `must list at most ${MAX_OVERRIDE_VALUES_PER_RULE} values`,
      }),
      "Values of the rule's dimension: exact, or globs with * and ? (as in match.path).",
    ),
    limit: describe(optional(positiveInteger(LIMIT_ERROR)), "L for these values. Default: the rule's limit."),
    window: describe(optional(durationSchema), "W for these values. Default: the rule's window."),
    burst: describe(
      optional(number('must be a whole number', { integer: true, minimum: 0 })),
      "B for these values, where the algorithm takes one. Default: the rule's burst.",
    ),
    unlimited: describe(
      optional(boolean('must be true or false')),
      'The rule does not limit these values at all (other rules still do). Goes with no limit, window or burst. Default: false.',
    ),
  },
  'must be a mapping with values and limit, window, burst or unlimited',
)

/**
 * The shape of one rule, in code (`createLimiter({ rules })`, `setRules`) and in files alike:
 * the single source of both runtime validation and the published JSON Schema. Descriptions are
 * the doc comments of `Rule` (src/rules/rule.ts), kept alike by test/config/option-docs.test.ts. Meaning that depends on the algorithm registry (names, `burst`, `mode`) is checked
 * afterwards, in `compileRules`, so registered algorithms and dimensions need no schema change.
 */
export const ruleSchema = object(
  {
    name: describe(
      string('must be 1-64 letters, digits, "_", "-" or "." starting with a letter or digit', {
        pattern: RULE_NAME_PATTERN,
      }),
      'Unique name: 1 to 64 letters, digits, _, - or ., starting with a letter or digit. It is also the policy name in the RateLimit headers.',
    ),
    dimension: describe(
      union(
        [
          nonEmptyString('a dimension name'),
          array(nonEmptyString('a dimension name'), 'must be a list', {
            minItems: 1,
            maxItems: MAX_DIMENSIONS,
            tooMany: `must list at most ${MAX_DIMENSIONS} dimensions`,
          }),
        ],
        'must be a dimension name (global, account, device, resource, ...) or a list of them',
      ),
      "What the quota is counted per: global, account, device, resource, ip or a registered dimension. A list of up to 8 is a composite key (e.g. ['account', 'resource']).",
    ),
    algorithm: describe(
      nonEmptyString('an algorithm name'),
      'fixed-window, sliding-window, token-bucket, leaky-bucket, concurrency (see docs/algorithms.md), adaptive-concurrency (see docs/concurrency.md), or a registered algorithm.',
    ),
    limit: describe(positiveInteger(LIMIT_ERROR), 'L: requests (cost units) per window.'),
    window: describe(
      optional(durationSchema),
      "W: milliseconds, or a duration such as '500ms', '1s', '1m', '1h', '1d'. Required, except for adaptive-concurrency, where it is how long an unreleased permit is held before it is reclaimed. Default: adaptive-concurrency: 60s.",
    ),
    minLimit: describe(
      optional(positiveInteger(LIMIT_ERROR)),
      "adaptive-concurrency only: the learned in-flight limit never falls below this (limit is the most it grows to). Keep it under the service's real capacity. Default: 1.",
    ),
    burst: describe(
      optional(number('must be a whole number', { integer: true, minimum: 0 })),
      'B: bucket capacity (token bucket) or queue length (leaky bucket); other algorithms take none. Default: token-bucket: limit; leaky-bucket: 0.',
    ),
    mode: describe(
      optional(string('must be a string')),
      'Leaky bucket only: shape delays requests, police passes them at once. Default: shape.',
    ),
    match: describe(
      optional(
        object(
          {
            path: describe(
              optional(pathGlobs),
              'A glob on the resource path (* within a segment, ** across segments), or a list of up to 32.',
            ),
            methods: describe(
              optional(
                array(nonEmptyString('an HTTP method'), 'must be a list of HTTP methods', {
                  maxItems: MAX_METHODS,
                  tooMany: `must list at most ${MAX_METHODS} HTTP methods`,
                }),
              ),
              'HTTP methods, in any case, e.g. [POST, PUT]. GET covers HEAD too: frameworks answer HEAD with the GET handler.',
            ),
          },
          'must be a mapping with path and/or methods',
        ),
      ),
      'Narrows the rule to some resources and methods: path is a glob on the resource path or a list of up to 32 (see docs/configuration.md), methods a list of HTTP methods (GET covers HEAD too, which frameworks answer with the GET handler). Default: every path and method.',
    ),
    shadow: describe(
      optional(boolean('must be true or false')),
      'Count and report, never deny. Default: false.',
    ),
    blockFor: describe(
      optional(blockForSchema),
      "A penalty: once this rule denies a key, the key is denied for this long (ms, or a duration such as '10m', at most '365d'), whatever its quota says; retryAfterMs is then the block's remaining time (or longer, if the rule itself would still deny when it ends). limiter.reset lifts it. Ignored on shadow rules. Default: none.",
    ),
    lease: describe(
      optional(
        union(
          [
            boolean('must be true or false'),
            object(
              {
                maxSlice: describe(
                  optional(positiveInteger('must be a whole number of units, at least 1')),
                  'The most units one slice holds. Quota left unused when the pool runs dry is at most (instances − 1) × maxSlice per window (or bucket), so smaller is more exact and larger asks Redis less often. Default: 1% of the capacity (burst, else limit), at least 1.',
                ),
                ttl: describe(
                  optional(leaseTtlSchema),
                  "token-bucket only: how long an instance may hold a slice (ms, or a duration such as '500ms', at most '1m'). Held tokens count against the bucket until then, so that the bucket's promise holds for the fleet. Slices of window algorithms end with their window. Default: 1s, or the window if shorter.",
                ),
              },
              'must be a mapping with maxSlice and/or ttl',
            ),
          ],
          'must be true, false or a mapping with maxSlice and/or ttl',
        ),
      ),
      'Redis store: instead of a script call per check, each instance takes slices of the key\'s quota from Redis and decides locally against them, asking for the next slice before it runs out (see docs/redis.md, "Leased quotas"). The fleet never admits more than the exact rule would; what sits unused in other instances\' slices is bounded. true, or tuning. fixed-window, sliding-window and token-bucket only; not with blockFor. Other stores decide exactly and ignore it. Default: false.',
    ),
    overrides: describe(
      optional(
        array(overrideSchema, 'must be a list of overrides', {
          maxItems: MAX_OVERRIDES_PER_RULE,
          tooMany: `must list at most ${MAX_OVERRIDES_PER_RULE} overrides`,
        }),
      ),
      "Other parameters, or no limit, for some values of the rule's dimension: VIP accounts, an internal service's address. Single-dimension rules only (not global). The first override whose values match the subject's value applies; other values get the rule as written. Each value keeps its own state, as under the rule itself. At most 64 overrides and 1,000 values per rule, each value 1 to 256 characters. A value with * or ? is a glob (as in match.path, * does not cross /); glob values count toward the rule set's glob budget. A subject value longer than 256 characters matches none. Default: none.",
    ),
    fallbackLimit: describe(
      optional(positiveInteger(LIMIT_ERROR)),
      "This instance's limit (per window) while the shared store (Redis) is unreachable; burst is scaled alike. Shared counters ignore it. Default: limit divided by the live instances.",
    ),
  },
  'must be an object with name, dimension, algorithm, limit and window',
)

export type RuleInput = ObjectOutput<typeof ruleSchema.shape>
export type OverrideInput = NonNullable<RuleInput['overrides']>[number]
