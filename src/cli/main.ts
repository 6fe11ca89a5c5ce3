import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { hint, quoted } from '../did-you-mean'

/**
 * `diana <command> [...]`. Each command lives with the concept it serves and is loaded only
 * when asked for, so `diana validate` never pays for the benchmark's dependencies; the
 * one-line summaries are kept here for the same reason.
 */
type Command = { usage: string; run: (args: string[]) => Promise<number> }

const commands: Record<string, { summary: string; load: () => Promise<Command> }> = {
  validate: {
    summary: 'check configuration files; prints FILE:LINE:COL: message per problem',
    load: async () => (await import('../config/validate-command')).validateCommand,
  },
  serve: {
    summary: 'run a rate-limit service for gateways (HTTP; Nginx auth_request)',
    load: async () => (await import('../serve/serve-command')).serveCommand,
  },
  bench: {
    summary: 'measure decisions per second and latency',
    load: async () => (await import('../../bench/cli')).benchCommand,
  },
}

const HELP_FLAGS = ['--help', '-h']
const VERSION_FLAGS = ['--version', '-v']

function usage(): string {
  const lines = Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`)
  return [
    'usage: diana <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    '  diana help <command>   the options of a command (also: diana <command> --help)',
    '  diana --help, -h       this help',
    '  diana --version, -v    the version of diana-limiter',
    '',
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  if (name === undefined) {
    process.stderr.write(usage())
    return 2
  }
  if (HELP_FLAGS.includes(name) || (name === 'help' && args.length === 0)) {
    process.stdout.write(usage())
    return 0
  }
  if (VERSION_FLAGS.includes(name)) {
    process.stdout.write(`${version()}\n`)
    return 0
  }
  if (name === 'help') {
    const topic = args[0] as string
    const entry = commands[topic]
    if (entry === undefined) return unknown(topic)
    process.stdout.write(`${(await entry.load()).usage}\n`)
    return 0
  }
  const entry = commands[name]
  if (entry === undefined) return unknown(name)
  const command = await entry.load()
  if (HELP_FLAGS.includes(args[0] as string)) {
    process.stdout.write(`${command.usage}\n`)
    return 0
  }
  return command.run(args)
}

function unknown(name: string): number {
  const known = [...Object.keys(commands), 'help', ...HELP_FLAGS, ...VERSION_FLAGS]
  process.stderr.write(`diana: unknown command ${quoted(name)}${hint(name, known)}\n\n${usage()}`)
  return 2
}

/**
 * The `version` of this package's package.json, found by walking up from this file: the same
 * code runs from src/cli (tsx) and from dist/src/cli, or from a chunk elsewhere in dist/.
 */
function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (pkg.name === 'diana-limiter' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // No package.json at this level: keep climbing.
    }
    dir = dirname(dir)
  }
  return 'unknown'
}
