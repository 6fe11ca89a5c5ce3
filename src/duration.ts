import { number, refine, string, titled, union } from './schema/schema'

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/

/** The forms a window may be written in, for error messages and the schema. */
export const DURATION_PATTERN = DURATION.source

/** `'500ms' | '1s' | '1m' | '1h' | '1d'` (or a number of ms) → milliseconds; undefined if malformed. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined
  const match = DURATION.exec(value.trim())
  if (!match) return undefined
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

const DURATION_ERROR = 'must be a duration such as 500ms, 1s, 1m, 1h, 1d, or a whole number of ms'

/**
 * A duration as written in rules and config files: whole positive milliseconds, or a string
 * such as `'2s'`; '0s' or '1e400d' match the pattern but are no usable duration.
 */
export const durationSchema = titled(
  union(
    [
      number(DURATION_ERROR, { integer: true, exclusiveMinimum: 0 }),
      refine(
        string(DURATION_ERROR, { pattern: DURATION_PATTERN }),
        (text) => isWholePositiveMs(parseDuration(text)),
        DURATION_ERROR,
      ),
    ],
    DURATION_ERROR,
  ),
  'duration (ms, or 500ms, 1s, 1m, 1h, 1d)',
)

function isWholePositiveMs(ms: number | undefined): boolean {
  return ms !== undefined && ms >= 1 && Number.isSafeInteger(ms)
}
