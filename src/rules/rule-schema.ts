import { z } from 'zod'
import { DURATION_PATTERN, parseDuration } from '../duration'
import { MAX_GLOB_LENGTH, MAX_GLOBS_PER_RULE } from '../glob'

/** Rule names become header policy names and key parts, so they are kept plain. */
export const RULE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'

const isWholePositiveMs = (ms: number | undefined) => ms !== undefined && ms >= 1 && Number.isSafeInteger(ms)
const WINDOW_ERROR = () => 'must be a duration such as 500ms, 1s, 1m, 1h, 1d, or a whole number of ms'
const nonEmpty = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` })
// Bounded because matching a path costs work in proportion to the globs' length (src/glob.ts).
const pathGlob = nonEmpty('a path glob').max(MAX_GLOB_LENGTH, {
  error: `must be a path glob of at most ${MAX_GLOB_LENGTH} characters`,
})
const pathGlobs = z.union(
  [
    pathGlob,
    z
      .array(pathGlob)
      .min(1)
      // A refinement, not .max(): zod would report the union's vaguer message instead.
      .refine((globs) => globs.length <= MAX_GLOBS_PER_RULE, {
        error: `must list at most ${MAX_GLOBS_PER_RULE} path globs`,
      }),
  ],
  { error: 'must be a path glob such as /api/** or a list of them' },
)

/**
 * The shape of one rule: the single source of both runtime validation and the published JSON
 * Schema. Meaning that depends on the algorithm registry (names, `burst`, `mode`) is checked
 * afterwards, in `compileRules`, so registered algorithms and dimensions need no schema change.
 */
export const ruleSchema = z.strictObject({
  name: z
    .string({ error: 'must be a string' })
    .regex(new RegExp(RULE_NAME_PATTERN), {
      error: 'must be 1-64 letters, digits, "_", "-" or "." starting with a letter or digit',
    })
    .describe('Unique rule name; also the policy name in the RateLimit headers.'),
  dimension: z
    .union([nonEmpty('a dimension name'), z.array(nonEmpty('a dimension name')).min(1)], {
      error: 'must be a dimension name (global, account, device, resource, ...) or a list of them',
    })
    .describe('What the quota is counted per; a list is a composite key.'),
  algorithm: nonEmpty('an algorithm name').describe(
    'fixed-window | sliding-window | token-bucket | leaky-bucket, or a registered one.',
  ),
  limit: z
    .number({ error: 'must be a whole number of requests, at least 1' })
    .int({ error: 'must be a whole number of requests, at least 1' })
    .positive({ error: 'must be a whole number of requests, at least 1' })
    .describe('L: requests (cost units) per window.'),
  window: z
    .union(
      [
        z
          .number()
          .int({ error: WINDOW_ERROR, abort: true })
          .positive({ error: WINDOW_ERROR, abort: true })
          .max(Number.MAX_SAFE_INTEGER, { error: WINDOW_ERROR }),
        z
          .string()
          .regex(new RegExp(DURATION_PATTERN), { error: WINDOW_ERROR, abort: true })
          // '0s' or '1e400d' match the pattern but are no usable window.
          .refine((window) => isWholePositiveMs(parseDuration(window)), { error: WINDOW_ERROR }),
      ],
      { error: WINDOW_ERROR },
    )
    .describe('W: the window, in ms or as a duration string.'),
  burst: z
    .number({ error: 'must be a whole number' })
    .int({ error: 'must be a whole number' })
    .nonnegative({ error: 'must be a whole number' })
    .optional()
    .describe('B: bucket capacity (token-bucket, default L) or queue length (leaky-bucket, default 0).'),
  mode: z
    .string({ error: 'must be a string' })
    .optional()
    .describe('leaky-bucket only: shape (default) delays requests, police passes them at once.'),
  match: z
    .strictObject({
      path: pathGlobs.optional(),
      methods: z.array(nonEmpty('an HTTP method'), { error: 'must be a list of HTTP methods' }).optional(),
    })
    .optional()
    .describe('Narrows the rule to matching resource paths and methods.'),
  shadow: z.boolean({ error: 'must be true or false' }).optional().describe('Count and report, never deny.'),
  fallbackLimit: z
    .number({ error: 'must be a whole number of requests, at least 1' })
    .int({ error: 'must be a whole number of requests, at least 1' })
    .positive({ error: 'must be a whole number of requests, at least 1' })
    .optional()
    .describe(
      "This instance's own limit while the shared store (Redis) is unreachable; by default the limit divided by the live instances.",
    ),
})

export type RuleInput = z.infer<typeof ruleSchema>
