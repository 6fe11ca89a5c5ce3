import { type ParseArgsConfig, parseArgs } from 'node:util'
/** A mistake in the command line: exit 2 with the usage. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** `--flag N`: a whole number from 1 to `max`; `fallback` when absent. */
export function wholeFlag(flag: string, raw: unknown, fallback: number, max: number): number {
  if (raw === undefined) return fallback
  const text = String(raw)
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new UsageError(
      `--${flag} must be a whole number from 1 to ${max.toLocaleString('en')} (got "${text}")`,
    )
  }
  return value
}

/** `--duration S`: seconds from 0.1 to `max`; `fallback` when absent. */
export function secondsFlag(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN
  if (!(value >= 0.1) || value > max) {
    throw new UsageError(`--duration must be a number of seconds from 0.1 to ${max} (got "${raw}")`)
  }
  return value
}

/**
 * `--redis-url` of a benchmark that floods the Redis it is given and reads its command
 * counters: only one on this machine, so a typo cannot turn it on a shared server elsewhere.
 */
export function loopbackRedisUrl(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new UsageError(`--redis-url must be a redis:// URL (got "${raw}")`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(`--redis-url must start with redis:// or rediss:// (got "${raw}")`)
  }
  const host = url.hostname.replace(/^\[|\]$/g, '')
  if (!(host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host))) {
    throw new UsageError(
      `--redis-url must be a loopback address (127.0.0.1, localhost, ::1): the benchmark floods it (got "${raw}")`,
    )
  }
  return raw
}

/**
 * The flags of one `diana bench` command: `node:util` parseArgs, strict, with its error and any
 * stray argument as a {@link UsageError} (status 2, one line, never a stack trace).
 */
export function flagValues(
  argv: string[],
  options: NonNullable<ParseArgsConfig['options']>,
): Record<string, string | boolean | undefined> {
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({ args: argv, strict: true, allowPositionals: true, options })
  } catch (error) {
    throw new UsageError(String((error as Error).message).split('\n')[0])
  }
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument "${parsed.positionals[0]}"`)
  return parsed.values as Record<string, string | boolean | undefined>
}
