import { hint } from '../../src/did-you-mean'
import { flagValues, loopbackRedisUrl, secondsFlag, wholeFlag } from '../flags'
import { UsageError } from '../options'

/** The hidden subcommand the serve benchmark starts its client processes with. */
export const SERVE_CLIENT_COMMAND = '__serve-client'
/** The hidden subcommand that starts the floor: a gRPC server with no limiter behind it. */
export const SERVE_FLOOR_COMMAND = '__serve-floor'

export const SERVE_STORES = ['memory', 'redis'] as const
export type ServeStore = (typeof SERVE_STORES)[number]
/** The stores measured, and the floor: gRPC alone, no limiter (bench/serve/floor-server.ts). */
export type Contestant = 'floor' | ServeStore

export interface ServeBenchOptions {
  stores: ServeStore[]
  clients: number
  /** Calls in flight in all, split evenly over the client processes (as one Envoy fleet's). */
  concurrency: number
  durationS: number
  samples: number
  /** Redis to use; undefined: start a private redis-server on a free loopback port. */
  redisUrl: string | undefined
  json: boolean
  out: string | undefined
  argv: string[]
}

export const DEFAULT_SERVE_OPTIONS = { clients: 2, concurrency: 64, durationS: 5, samples: 3 } as const
const LIMITS = { clients: 16, concurrency: 4096, durationS: 600, samples: 100 }

/** Parses `diana bench serve ...` (without `serve`), or throws a {@link UsageError}. */
export function parseServeArgs(argv: string[]): ServeBenchOptions {
  const values = flagValues(argv, {
    store: { type: 'string' },
    clients: { type: 'string' },
    concurrency: { type: 'string' },
    duration: { type: 'string' },
    samples: { type: 'string' },
    'redis-url': { type: 'string' },
    json: { type: 'boolean' },
    out: { type: 'string' },
  })
  const out = values.out as string | undefined
  if (out !== undefined && out.trim() === '') throw new UsageError('--out needs a file name')
  const d = DEFAULT_SERVE_OPTIONS
  const clients = wholeFlag('clients', values.clients, d.clients, LIMITS.clients)
  const concurrency = wholeFlag('concurrency', values.concurrency, d.concurrency, LIMITS.concurrency)
  if (concurrency < clients) {
    throw new UsageError(
      `--concurrency (${concurrency}) is split over the clients: give at least one per client (${clients})`,
    )
  }
  const stores = store(values.store as string | undefined)
  const redisUrl = loopbackRedisUrl(values['redis-url'] as string | undefined)
  if (redisUrl !== undefined && !stores.includes('redis'))
    throw new UsageError('--redis-url is for --store redis')
  return {
    stores,
    clients,
    concurrency,
    durationS: secondsFlag(
      values.duration as string | undefined,
      DEFAULT_SERVE_OPTIONS.durationS,
      LIMITS.durationS,
    ),
    samples: wholeFlag('samples', values.samples, d.samples, LIMITS.samples),
    redisUrl,
    json: values.json === true,
    out,
    argv: ['serve', ...argv],
  }
}

function store(raw: string | undefined): ServeStore[] {
  if (raw === undefined) return [...SERVE_STORES]
  if (!(SERVE_STORES as readonly string[]).includes(raw)) {
    throw new UsageError(`--store must be memory or redis (got "${raw}")${hint(raw, SERVE_STORES)}`)
  }
  return [raw as ServeStore]
}
