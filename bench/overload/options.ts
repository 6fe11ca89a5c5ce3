import { flagValues, secondsFlag, wholeFlag } from '../flags'
import { UsageError } from '../options'
import { variantList } from '../variant-list'

/** The hidden subcommand the overload benchmark starts its service processes with. */
export const OVERLOAD_SERVER_COMMAND = '__overload-server'

/** What the service in front of the clients is protected by. */
export const VARIANTS = ['bare', 'bucket-2x', 'bucket', 'adaptive'] as const
export type Variant = (typeof VARIANTS)[number]

export const VARIANT_LABELS: Record<Variant, string> = {
  bare: 'bare',
  'bucket-2x': 'token bucket at 2× capacity',
  bucket: 'token bucket at capacity',
  adaptive: 'adaptive',
}

export interface OverloadOptions {
  /** Requests the service serves at once (C). */
  slots: number
  /** Mean time one request holds a slot, in ms (S). */
  serviceMs: number
  /** Offered load of each step, in multiples of the service's capacity. */
  steps: number[]
  /** Measured seconds per step, after the step has settled. */
  durationS: number
  variants: Variant[]
  json: boolean
  markdown: boolean
  out: string | undefined
  svg: string | undefined
  /** The command line as typed, for reports. */
  argv: string[]
}

export const DEFAULT_OVERLOAD_OPTIONS = {
  slots: 16,
  serviceMs: 20,
  steps: [1, 2, 4, 6, 8, 10],
  durationS: 2.5,
} as const

// The clients are 2 × step × slots sockets; beyond these a run measures the load generator.
const LIMITS = { slots: 256, serviceMs: 10_000, step: 20, steps: 20, durationS: 600 }

/** Parses `diana bench overload ...` (without `overload`), or throws a {@link UsageError}. */
export function parseOverloadArgs(argv: string[]): OverloadOptions {
  const values = flagValues(argv, {
    slots: { type: 'string' },
    'service-time': { type: 'string' },
    steps: { type: 'string' },
    duration: { type: 'string' },
    variants: { type: 'string' },
    json: { type: 'boolean' },
    markdown: { type: 'boolean' },
    out: { type: 'string' },
    svg: { type: 'string' },
  })
  if (values.json === true && values.markdown === true) {
    throw new UsageError('--json and --markdown are two formats for stdout; pick one')
  }
  const out = fileName('out', values.out as string | undefined)
  const svg = fileName('svg', values.svg as string | undefined)
  return {
    slots: wholeFlag(
      'slots',
      values.slots as string | undefined,
      DEFAULT_OVERLOAD_OPTIONS.slots,
      LIMITS.slots,
    ),
    serviceMs: wholeFlag(
      'service-time',
      values['service-time'] as string | undefined,
      DEFAULT_OVERLOAD_OPTIONS.serviceMs,
      LIMITS.serviceMs,
    ),
    steps: steps(values.steps as string | undefined),
    durationS: secondsFlag(
      values.duration as string | undefined,
      DEFAULT_OVERLOAD_OPTIONS.durationS,
      LIMITS.durationS,
    ),
    variants: variantList(values.variants as string | undefined, VARIANTS),
    json: values.json === true,
    markdown: values.markdown === true,
    out,
    svg,
    argv: ['overload', ...argv],
  }
}

function steps(raw: string | undefined): number[] {
  if (raw === undefined) return [...DEFAULT_OVERLOAD_OPTIONS.steps]
  const list = raw.split(',').map((part) => part.trim())
  const numbers = list.map((part) => (/^\d+(\.\d+)?$/.test(part) ? Number(part) : Number.NaN))
  const bad = numbers.findIndex((n) => !(n >= 0.1 && n <= LIMITS.step))
  if (bad >= 0 || list.length > LIMITS.steps) {
    throw new UsageError(
      `--steps must be up to ${LIMITS.steps} comma-separated multiples of capacity from 0.1 to ${LIMITS.step} (got "${raw}")`,
    )
  }
  return numbers
}

function fileName(flag: string, value: string | undefined): string | undefined {
  if (value !== undefined && value.trim() === '') throw new UsageError(`--${flag} needs a file name`)
  return value
}
