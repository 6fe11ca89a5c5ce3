import { parseDuration } from '../../src/duration'
import { flagValues, loopbackRedisUrl, secondsFlag, wholeFlag } from '../flags'
import { UsageError } from '../options'
import { variantList } from '../variant-list'

/** The hidden subcommand the lease benchmark starts its worker processes with. */
export const LEASE_WORKER_COMMAND = '__lease-worker'

/**
 * The rule sets measured, all on one Redis. The hot-key exact row is also the 1-rule baseline
 * of the 4-rule rows: one `global` rule is one hot key, whatever the subjects.
 */
export const VARIANTS = ['exact', 'leased', '4-rules-exact', '4-rules-leased'] as const
export type Variant = (typeof VARIANTS)[number]

export const VARIANT_LABELS: Record<Variant, string> = {
  exact: '1 rule (global), exact',
  leased: '1 rule (global), leased',
  '4-rules-exact': '4 rules, all exact',
  '4-rules-leased': '4 rules, global leased + 3 exact',
}

/** Whether the variant's global rule takes slices of its quota (`lease: true`). */
export function isLeased(variant: Variant): boolean {
  return variant === 'leased' || variant === '4-rules-leased'
}

/** Whether the variant adds the account, device and resource rules to the global one. */
export function hasFourRules(variant: Variant): boolean {
  return variant === '4-rules-exact' || variant === '4-rules-leased'
}

export interface LeaseOptions {
  processes: number
  /** Checks in flight per process. */
  concurrency: number
  /** Measured seconds per variant and sample, after the start barrier. */
  durationS: number
  samples: number
  /** Redis to use; undefined: start a private redis-server on a free loopback port. */
  redisUrl: string | undefined
  /** The global rule's limit per window. */
  limit: number
  windowMs: number
  variants: Variant[]
  /**
   * Whether the Redis store's denial cache is on. Off by default: a hot key past its limit is
   * then answered from memory until its window ends, in exact mode too, and the run would not
   * measure a round trip per exact check (what leasing is to spare).
   */
  denialCache: boolean
  /** The Redis store's `commandTimeoutMs`; undefined: the store's default. */
  commandTimeoutMs: number | undefined
  json: boolean
  out: string | undefined
  /** The command line as typed, for reports. */
  argv: string[]
}

/**
 * Defaults where demand exceeds the limit in every window (4 × 64 checks in flight ask for far
 * more than 20 000 a second even in exact mode), so the lower bound of what a window admits is
 * tested, and each sample holds at least 5 whole windows.
 */
export const DEFAULT_LEASE_OPTIONS = {
  processes: 4,
  concurrency: 64,
  durationS: 6,
  samples: 3,
  limit: 20_000,
  windowMs: 1000,
} as const

// A fleet on one machine: beyond 16 processes the run measures the scheduler, not Redis.
export const LEASE_LIMITS = {
  processes: 16,
  concurrency: 1024,
  durationS: 600,
  samples: 100,
  limit: 100_000_000,
  windowMinMs: 100,
  windowMaxMs: 60_000,
  commandTimeoutMs: 10_000,
}

/** Parses `diana bench lease ...` (without `lease`), or throws a {@link UsageError}. */
export function parseLeaseArgs(argv: string[]): LeaseOptions {
  const values = flagValues(argv, {
    processes: { type: 'string' },
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    samples: { type: 'string' },
    'redis-url': { type: 'string' },
    limit: { type: 'string' },
    window: { type: 'string' },
    variants: { type: 'string' },
    'denial-cache': { type: 'boolean' },
    'command-timeout': { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
  })
  const out = values.out as string | undefined
  if (out !== undefined && out.trim() === '') throw new UsageError('--out needs a file name')
  const d = DEFAULT_LEASE_OPTIONS
  const max = LEASE_LIMITS
  return {
    processes: wholeFlag('processes', values.processes, d.processes, max.processes),
    concurrency: wholeFlag('concurrency', values.concurrency, d.concurrency, max.concurrency),
    durationS: secondsFlag(
      values.duration as string | undefined,
      DEFAULT_LEASE_OPTIONS.durationS,
      LEASE_LIMITS.durationS,
    ),
    samples: wholeFlag('samples', values.samples, d.samples, max.samples),
    redisUrl: loopbackRedisUrl(values['redis-url'] as string | undefined),
    limit: wholeFlag('limit', values.limit, d.limit, max.limit),
    windowMs: window(values.window as string | undefined),
    variants: variantList(values.variants as string | undefined, VARIANTS),
    denialCache: values['denial-cache'] === true,
    commandTimeoutMs:
      values['command-timeout'] === undefined
        ? undefined
        : wholeFlag('command-timeout', values['command-timeout'], 0, max.commandTimeoutMs),
    json: values.json === true,
    out,
    argv: ['lease', ...argv],
  }
}

function window(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LEASE_OPTIONS.windowMs
  const ms = parseDuration(/^\d+$/.test(raw) ? Number(raw) : raw)
  if (
    ms === undefined ||
    !Number.isInteger(ms) ||
    ms < LEASE_LIMITS.windowMinMs ||
    ms > LEASE_LIMITS.windowMaxMs
  ) {
    throw new UsageError(
      `--window must be a duration from ${LEASE_LIMITS.windowMinMs}ms to ${LEASE_LIMITS.windowMaxMs / 1000}s, such as 1s or 500ms (got "${raw}")`,
    )
  }
  return ms
}
