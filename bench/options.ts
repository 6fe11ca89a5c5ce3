import { parseArgs } from 'node:util'
import { hint } from '../src/did-you-mean'
import { algorithmNames, holdsPermits } from '../src/registry'
import { secondsFlag, UsageError, wholeFlag } from './flags'

export const USAGE = `usage:
  diana bench [--algorithm A] [--store memory|redis] [--redis-url URL] [--keys N]
              [--concurrency N] [--duration S] [--rules N] [--samples N]
              [--compare] [--json] [--out FILE.md]
  diana bench http [--framework express|fastify|koa] [--algorithm A] [--keys N]
              [--concurrency N] [--duration S] [--samples N] [--compare] [--json] [--out FILE.md]
  diana bench overload [--slots N] [--service-time MS] [--steps LIST] [--duration S]
              [--variants LIST] [--json | --markdown] [--out FILE.md] [--svg FILE]
  diana bench lease [--processes N] [--concurrency N] [--duration S] [--samples N]
              [--redis-url URL] [--limit N] [--window W] [--variants LIST] [--denial-cache]
              [--command-timeout MS] [--json] [--out FILE.md]
  diana bench serve [--store memory|redis] [--clients N] [--concurrency N] [--duration S]
              [--samples N] [--redis-url URL] [--json] [--out FILE.md]

  --algorithm A     fixed-window | sliding-window | token-bucket | leaky-bucket | concurrency (default: all but concurrency)
  --store S         memory (default) | redis
  --redis-url URL   Redis for --store redis (default redis://127.0.0.1:6379)
  --keys N          distinct subjects, checked round robin (default 10000; 1 = one hot key)
  --concurrency N   checks in flight (HTTP: connections) (default 16)
  --duration S      measured seconds per contender and scenario, warm-up excluded (default 5)
  --rules N         rules applicable to each check (default 1)
  --samples N       samples per contender; median and min-max are reported (default 5)
  --compare         the same scenario through rate-limiter-flexible (HTTP: the framework's
                    usual limiter), interleaved A B A B, with the ratio
  --json            one JSON object per scenario per line on stdout
  --out FILE.md     also write the table as Markdown
  --framework F     HTTP benchmark: express | fastify | koa (default: all three)

  overload: a service of N slots (excess requests queue), closed-loop clients offering each
  step's multiple of its capacity; goodput (responses within 3x the unloaded p50), p99 of
  admitted requests and shed rate per step, bare and behind each limiter
  --slots N         requests the service serves at once (default 16)
  --service-time MS time one request holds a slot, ±10 % (default 20)
  --steps LIST      offered load per step, in multiples of capacity (default 1,2,4,6,8,10)
  --duration S      measured seconds per step, after it settles (default 2.5)
  --variants LIST   of bare, bucket-2x (token bucket at 2x capacity), bucket (at capacity),
                    adaptive (the adaptive-concurrency rule, untuned) (default: all four)
  --markdown        print the table as Markdown
  --svg FILE        also write goodput against offered load as an SVG chart

  lease: worker processes sharing one Redis, each with its own limiter and N checks in flight,
  starting together; one hot global fixed-window rule exact and leased, and 4 rules (global +
  account, device, resource) against 1; decisions/s, p50/p99, Redis commands per decision
  (INFO commandstats) and what each whole window admitted, as a share of the limit
  --processes N     worker processes, at most 16 (default 4)
  --concurrency N   checks in flight per process (default 64)
  --duration S      measured seconds per variant and sample (default 6)
  --samples N       samples per variant, taking turns (default 3)
  --redis-url URL   a Redis on this machine (loopback only) (default: start a private
                    redis-server on a free loopback port)
  --limit N         the global rule's limit per window (default 20000)
  --window W        the global rule's window, such as 1s or 500ms (default 1s)
  --variants LIST   of exact, leased, 4-rules-exact, 4-rules-leased (default: all four)
  --denial-cache    keep the Redis store's denial cache on (off by default: it answers a hot
                    key past its limit from memory, and exact mode would not go to Redis)
  --command-timeout MS  the Redis store's commandTimeoutMs (default: the store's, 50): on a
                    machine with fewer cores than processes, late replies are answered by the
                    local fallback, which the table flags (!)

  serve: a diana serve process (--grpc) and client processes, each one HTTP/2 channel with its
  share of the calls in flight, sending Envoy's ShouldRateLimit over 10 000 addresses and 1000
  accounts; calls/s, p50/p99, CPU per call of server, clients and Redis, Redis commands per
  call, and whether the targets (20 000 calls/s, p99 5 ms) were met; the stores and a floor (the
  same gRPC server, no limiter) take turns
  --store S         memory | redis (default: both)
  --clients N       client processes, at most 16 (default 2)
  --concurrency N   calls in flight in all, split evenly over the clients (default 64)
  --duration S      measured seconds per store and sample (default 5)
  --samples N       samples per store (default 3)
  --redis-url URL   a Redis on this machine (loopback only) (default: a private redis-server)`

/** The hidden subcommand the HTTP benchmark starts its server processes with. */
export const HTTP_SERVER_COMMAND = '__http-server'

export { UsageError }

export const STORES = ['memory', 'redis'] as const
export const FRAMEWORKS = ['express', 'fastify', 'koa'] as const
export type StoreName = (typeof STORES)[number]
export type Framework = (typeof FRAMEWORKS)[number]

export interface BenchOptions {
  mode: 'decisions' | 'http'
  algorithms: string[]
  store: StoreName
  redisUrl: string
  keys: number
  concurrency: number
  durationS: number
  rules: number
  samples: number
  compare: boolean
  json: boolean
  out: string | undefined
  frameworks: Framework[]
  /** The command line as typed, for reports. */
  argv: string[]
}

export const DEFAULT_BENCH_OPTIONS = {
  store: 'memory',
  redisUrl: 'redis://127.0.0.1:6379',
  keys: 10_000,
  concurrency: 16,
  durationS: 5,
  rules: 1,
  samples: 5,
} as const

const LIMITS = { keys: 10_000_000, concurrency: 10_000, rules: 100, samples: 1000, durationS: 3600 }

/** Parses `diana bench ...` arguments, or throws a {@link UsageError} saying what is wrong. */
export function parseBenchArgs(argv: string[]): BenchOptions {
  const http = argv[0] === 'http'
  let values: Record<string, string | boolean | undefined>
  let positionals: string[]
  try {
    ;({ values, positionals } = parseArgs({
      args: http ? argv.slice(1) : argv,
      strict: true,
      allowPositionals: true,
      options: {
        algorithm: { type: 'string' },
        store: { type: 'string' },
        'redis-url': { type: 'string' },
        keys: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        rules: { type: 'string' },
        samples: { type: 'string' },
        compare: { type: 'boolean' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        framework: { type: 'string' },
      },
    }))
  } catch (error) {
    throw new UsageError(String((error as Error).message).split('\n')[0])
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `unexpected argument "${positionals[0]}"${hint(positionals[0] as string, ['http', 'overload', 'lease', 'serve'])}`,
    )
  }
  if (http) {
    for (const flag of ['store', 'redis-url', 'rules'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply to "diana bench http"`)
    }
  } else if (values.framework !== undefined) {
    throw new UsageError('--framework applies only to "diana bench http"')
  }

  const known = algorithmNames()
  const algorithm = values.algorithm as string | undefined
  if (algorithm !== undefined && !known.includes(algorithm)) {
    throw new UsageError(
      `--algorithm: unknown algorithm "${algorithm}"${hint(algorithm, known)} (known: ${known.join(', ')})`,
    )
  }
  const store = oneOf('store', values.store as string | undefined, STORES) ?? DEFAULT_BENCH_OPTIONS.store
  const framework = oneOf('framework', values.framework as string | undefined, FRAMEWORKS)
  const redisUrl = (values['redis-url'] as string | undefined) ?? DEFAULT_BENCH_OPTIONS.redisUrl
  if (values['redis-url'] !== undefined && store !== 'redis') {
    throw new UsageError('--redis-url needs --store redis')
  }
  if (!/^rediss?:\/\//.test(redisUrl))
    throw new UsageError(`--redis-url must start with redis:// or rediss:// (got "${redisUrl}")`)
  const out = values.out as string | undefined
  if (out !== undefined && out.trim() === '') throw new UsageError('--out needs a file name')

  return {
    mode: http ? 'http' : 'decisions',
    // HTTP runs one Diana rule; token bucket is what an API gateway would usually pick. Permit
    // algorithms (concurrency, adaptive-concurrency) are left out of the default: checks that never
    // release fill a key after `limit` of them, which measures denials, not what the peer's counter does.
    algorithms: algorithm !== undefined ? [algorithm] : http ? ['token-bucket'] : known.filter(isRateLimit),
    store,
    redisUrl,
    keys: wholeFlag('keys', values.keys, DEFAULT_BENCH_OPTIONS.keys, LIMITS.keys),
    concurrency: wholeFlag(
      'concurrency',
      values.concurrency,
      DEFAULT_BENCH_OPTIONS.concurrency,
      LIMITS.concurrency,
    ),
    durationS: secondsFlag(
      values.duration as string | undefined,
      DEFAULT_BENCH_OPTIONS.durationS,
      LIMITS.durationS,
    ),
    rules: wholeFlag('rules', values.rules, DEFAULT_BENCH_OPTIONS.rules, LIMITS.rules),
    samples: wholeFlag('samples', values.samples, DEFAULT_BENCH_OPTIONS.samples, LIMITS.samples),
    compare: values.compare === true,
    json: values.json === true,
    out,
    frameworks: framework !== undefined ? [framework] : [...FRAMEWORKS],
    argv,
  }
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new UsageError(
    `--${flag} must be one of ${allowed.join(', ')} (got "${value}")${hint(value, allowed)}`,
  )
}

/**
 * Whether an algorithm limits a rate, which is what a bench measures by default: checks in a
 * loop that never end a request would only fill a concurrency rule's places (`concurrency`
 * and `adaptive-concurrency` hold a place per request in flight until `release()`).
 */
function isRateLimit(name: string): boolean {
  return !holdsPermits(name)
}
