import { StoreUnavailableError } from './contenders'
import { type DecisionResult, runDecisions } from './decisions'
import { describeEnvironment } from './environment'
import { LEASE_WORKER_COMMAND, type LeaseOptions, parseLeaseArgs } from './lease/options'
import { MissingModuleError } from './optional-module'
import { type BenchOptions, HTTP_SERVER_COMMAND, parseBenchArgs, USAGE, UsageError } from './options'
import { OVERLOAD_SERVER_COMMAND, type OverloadOptions, parseOverloadArgs } from './overload/options'
import { Progress } from './progress'
import { decisionJson, decisionTable, renderText } from './report'
import { announce, writeMarkdown } from './run-report'
import {
  parseServeArgs,
  SERVE_CLIENT_COMMAND,
  SERVE_FLOOR_COMMAND,
  type ServeBenchOptions,
} from './serve/options'

/**
 * `diana bench`: decisions per second and latency percentiles of Diana's limiter, optionally
 * side by side with rate-limiter-flexible; `diana bench http`: whole HTTP servers; `diana bench
 * overload`: a service with a fixed capacity past its capacity, bare and behind limiters;
 * `diana bench lease`: a fleet of processes on one Redis, exact and leased rules; `diana bench
 * serve`: `diana serve`'s gRPC API under many concurrent calls.
 */
export const benchCommand = {
  summary: 'measure decisions per second and latency (diana bench --help)',
  usage: USAGE,
  run,
}

async function run(args: string[]): Promise<number> {
  if (
    args[0] === '--help' ||
    args[0] === '-h' ||
    ((args[0] === 'http' || args[0] === 'overload' || args[0] === 'lease' || args[0] === 'serve') &&
      (args[1] === '--help' || args[1] === '-h'))
  ) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (args[0] === HTTP_SERVER_COMMAND) return (await import('./http-server')).serve(args.slice(1))
  if (args[0] === OVERLOAD_SERVER_COMMAND)
    return (await import('./overload/service-process')).serve(args.slice(1))
  if (args[0] === LEASE_WORKER_COMMAND) return (await import('./lease/worker')).serve()
  if (args[0] === SERVE_CLIENT_COMMAND) return (await import('./serve/client')).serve()
  if (args[0] === SERVE_FLOOR_COMMAND) return (await import('./serve/floor-server')).serve()
  if (args[0] === 'overload') return runOverload(args.slice(1))
  if (args[0] === 'serve') return runServe(args.slice(1))
  if (args[0] === 'lease') return runLease(args.slice(1))
  let options: BenchOptions
  try {
    options = parseBenchArgs(args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`diana bench: ${error.message}\n${USAGE}\n`)
    return 2
  }
  try {
    return options.mode === 'http' ? await runHttp(options) : await runDecisionBench(options)
  } catch (error) {
    return explain(error)
  }
}

async function runDecisionBench(options: BenchOptions): Promise<number> {
  const packages = options.compare ? ['rate-limiter-flexible'] : []
  if (options.store === 'redis') packages.push('ioredis')
  const env = describeEnvironment(packages)
  announce(options, env)
  const progress = new Progress(process.stderr)
  const results = await runDecisions(options, progress, (result) => {
    if (options.json) process.stdout.write(`${JSON.stringify(decisionJson(result))}\n`)
  })
  const table = decisionTable(results)
  if (!options.json) process.stdout.write(`\n${renderText(table)}${footnote(options, results)}`)
  if (options.out) await writeMarkdown(options, env, table, footnote(options, results))
  return 0
}

async function runOverload(args: string[]): Promise<number> {
  let options: OverloadOptions
  try {
    options = parseOverloadArgs(args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`diana bench overload: ${error.message}\n${USAGE}\n`)
    return 2
  }
  try {
    return await (await import('./overload/command')).runOverloadBench(options)
  } catch (error) {
    return explain(error)
  }
}

async function runLease(args: string[]): Promise<number> {
  let options: LeaseOptions
  try {
    options = parseLeaseArgs(args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`diana bench lease: ${error.message}\n${USAGE}\n`)
    return 2
  }
  try {
    return await (await import('./lease/command')).runLeaseBench(options)
  } catch (error) {
    return explain(error)
  }
}

async function runServe(args: string[]): Promise<number> {
  let options: ServeBenchOptions
  try {
    options = parseServeArgs(args)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`diana bench serve: ${error.message}\n${USAGE}\n`)
    return 2
  }
  try {
    return await (await import('./serve/command')).runServeBench(options)
  } catch (error) {
    return explain(error)
  }
}

async function runHttp(options: BenchOptions): Promise<number> {
  const { runHttpBench } = await import('./http')
  return runHttpBench(options)
}

function footnote(options: BenchOptions, results: readonly DecisionResult[]): string {
  const degraded = results.filter((r) => r.diana.degradedShare > 0)
  const warning =
    degraded.length === 0
      ? ''
      : `\n(!) some decisions came from the local fallback because the store failed (${degraded
          .map((r) => `${r.algorithm}: ${(r.diana.degradedShare * 100).toFixed(1)}% of timed checks`)
          .join(', ')}); those figures do not measure the store.\n`
  if (!options.compare || results.length === 0) return warning
  return (
    warning +
    '\nratio = diana median ops/s / rate-limiter-flexible median ops/s, measured interleaved in this run.\n' +
    'rate-limiter-flexible has one strategy (a counter expiring after its duration) for every row.\n'
  )
}

/** Known failures become one clear message; anything else still gets its message, not a stack. */
function explain(error: unknown): number {
  if (error instanceof StoreUnavailableError || error instanceof MissingModuleError) {
    process.stderr.write(`diana bench: ${error.message}\n`)
    return 2
  }
  if (error instanceof Error && error.name === 'HttpUnavailableError') {
    process.stderr.write(`diana bench: ${error.message}\n`)
    return 2
  }
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`diana bench: ${message}\n`)
  if (process.env.DIANA_DEBUG && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`)
  return 1
}
