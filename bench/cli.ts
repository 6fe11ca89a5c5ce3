import { writeFile } from 'node:fs/promises'
import { StoreUnavailableError } from './contenders'
import { type DecisionResult, runDecisions } from './decisions'
import { describeEnvironment, type Environment, formatEnvironment } from './environment'
import { MissingModuleError } from './optional-module'
import { type BenchOptions, parseBenchArgs, USAGE, UsageError } from './options'
import { Progress } from './progress'
import { decisionJson, decisionTable, renderMarkdown, renderText, type Table } from './report'

/**
 * `diana bench`: decisions per second and latency percentiles of Diana's limiter, optionally
 * side by side with rate-limiter-flexible; `diana bench http`: whole HTTP servers.
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
    (args[0] === 'http' && (args[1] === '--help' || args[1] === '-h'))
  ) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (args[0] === HTTP_SERVER_COMMAND) return (await import('./http-server')).serve(args.slice(1))
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

/** The hidden subcommand the HTTP benchmark starts its server processes with. */
export const HTTP_SERVER_COMMAND = '__http-server'

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

async function runHttp(options: BenchOptions): Promise<number> {
  const { runHttpBench } = await import('./http')
  return runHttpBench(options, { announce, writeMarkdown })
}

export type Announce = (options: BenchOptions, env: Environment) => void
export type WriteMarkdown = (
  options: BenchOptions,
  env: Environment,
  table: Table,
  note: string,
) => Promise<void>

/** The environment goes first: to stdout for people, to stderr when stdout is JSON lines. */
function announce(options: BenchOptions, env: Environment): void {
  const stream = options.json ? process.stderr : process.stdout
  const what = options.mode === 'http' ? 'HTTP servers' : 'decisions'
  stream.write(
    `diana bench (${what}): ${options.durationS} s measured per contender and scenario in ${options.samples} samples ` +
      `after a warm-up sample; medians with min–max\n${formatEnvironment(env)}\n`,
  )
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

async function writeMarkdown(
  options: BenchOptions,
  env: Environment,
  table: Table,
  note: string,
): Promise<void> {
  const text =
    `# diana bench\n\n` +
    `\`\`\`sh\ndiana bench ${options.argv.join(' ')}\n\`\`\`\n\n` +
    `${formatEnvironment(env)}\n\n` +
    `${options.durationS} s measured per contender and scenario in ${options.samples} samples after a warm-up sample; ` +
    `medians with min–max.\n\n${renderMarkdown(table)}${note ? `\n${note.trim()}\n` : ''}`
  await writeFile(options.out as string, text)
  process.stderr.write(`wrote ${options.out}\n`)
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
