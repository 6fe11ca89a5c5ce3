import type { Writable } from 'node:stream'
import { hint, quoted } from '../did-you-mean'
import type { Rule } from '../rules/rule'
import { readConfigText } from './load-config'
import { DEFAULT_MAX_CONFIG_BYTES, parseConfig } from './parse-config'
import { loadRegistrations } from './require-modules'

const USAGE = 'usage: diana validate [--require MODULE]... [--max-bytes N] FILE...'

const HELP = `${USAGE}

Checks diana.yaml files as createLimiter({ config }) would: exit 0 and one line per rule when
every file is valid; exit 1 and one FILE:LINE:COL: field: message line per problem otherwise.

  --require MODULE, -r MODULE  load MODULE first (repeatable), e.g. the module of your app that
                               calls registerAlgorithm / registerDimension, so rules using them
                               validate; a path is taken from the current directory
  --max-bytes N                largest file taken, in bytes (default ${DEFAULT_MAX_CONFIG_BYTES})`

const FLAGS = ['--require', '-r', '--max-bytes']

/**
 * `diana validate [--require MODULE]... [--max-bytes N] FILE...`: exit 0 and one summary line
 * per rule when every file is valid; exit 1 and one `FILE:LINE:COL: field: message` line per
 * problem otherwise, or when a module to require fails to load (2 for bad usage).
 */
export async function validate(
  args: readonly string[],
  out: Pick<Writable, 'write'> = process.stdout,
  err: Pick<Writable, 'write'> = process.stderr,
  cwd: string = process.cwd(),
): Promise<number> {
  let maxBytes = DEFAULT_MAX_CONFIG_BYTES
  const files: string[] = []
  const modules: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--require' || arg === '-r' || arg.startsWith('--require=')) {
      const module = arg.startsWith('--require=') ? arg.slice('--require='.length) : args[++i]
      if (module === undefined || module === '') {
        err.write(`diana validate: --require needs a module name or path\n${USAGE}\n`)
        return 2
      }
      modules.push(module)
    } else if (arg === '--max-bytes') {
      const value = Number(args[++i])
      if (!(Number.isSafeInteger(value) && value >= 1)) {
        err.write(`diana validate: --max-bytes must be a whole number of bytes, at least 1\n${USAGE}\n`)
        return 2
      }
      maxBytes = value
    } else if (arg.startsWith('-')) {
      err.write(`diana validate: unknown option ${quoted(arg)}${hint(arg, FLAGS)}\n${USAGE}\n`)
      return 2
    } else {
      files.push(arg)
    }
  }
  if (files.length === 0) {
    err.write(`${USAGE}\n`)
    return 2
  }
  const failure = await loadRegistrations(modules, cwd)
  if (failure !== undefined) {
    err.write(`diana validate: ${failure}\n`)
    return 1
  }
  let status = 0
  for (const file of files) {
    let text: string
    try {
      text = readConfigText(file, maxBytes)
    } catch (error) {
      out.write(`${(error as Error).message}\n`)
      status = 1
      continue
    }
    const result = parseConfig(text, file, { maxBytes })
    if (!result.ok) {
      out.write(`${result.error.lines.join('\n')}\n`)
      status = 1
      continue
    }
    const prefix = files.length > 1 ? `${file}: ` : ''
    for (const rule of result.value.rules) out.write(`${prefix}${summarize(rule)}\n`)
    if (result.value.rules.length === 0) out.write(`${prefix}valid, no rules\n`)
  }
  return status
}

/** `account: sliding-window per account, 100 per 1m` and the optional parts that are set. */
export function summarize(rule: Rule): string {
  const dimension = Array.isArray(rule.dimension) ? rule.dimension.join('+') : rule.dimension
  const window = typeof rule.window === 'number' ? `${rule.window}ms` : rule.window
  const amount =
    rule.algorithm === 'adaptive-concurrency'
      ? `${rule.minLimit ?? 1}-${rule.limit} in flight${window === undefined ? '' : `, reclaimed after ${window}`}`
      : `${rule.limit} per ${window}`
  const parts = [`${rule.name}: ${rule.algorithm} per ${dimension}, ${amount}`]
  if (rule.burst !== undefined) parts.push(`burst ${rule.burst}`)
  if (rule.mode !== undefined) parts.push(`mode ${rule.mode}`)
  if (rule.match?.methods) parts.push(`methods ${rule.match.methods.join('|')}`)
  if (rule.match?.path !== undefined) {
    parts.push(`path ${Array.isArray(rule.match.path) ? rule.match.path.join(' ') : rule.match.path}`)
  }
  if (rule.shadow) parts.push('shadow')
  if (rule.fallbackLimit !== undefined) parts.push(`fallback limit ${rule.fallbackLimit}`)
  if (rule.overrides !== undefined && rule.overrides.length > 0) {
    const values = rule.overrides.reduce((count, override) => count + override.values.length, 0)
    const count = rule.overrides.length
    parts.push(`${count} override${count === 1 ? '' : 's'} for ${values} value${values === 1 ? '' : 's'}`)
  }
  return parts.join(', ')
}

export const validateCommand = {
  summary: 'check configuration files; prints FILE:LINE:COL: message per problem',
  usage: HELP,
  run: (args: string[]) => validate(args),
}
