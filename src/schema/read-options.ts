import { quoted } from '../did-you-mean'
import { read, type Schema, type SchemaIssue } from './schema'

/**
 * Reads options given in code with the same schema that reads them from `diana.yaml`, so the two
 * cannot drift: a bad value is a TypeError naming the option (`store.maxKeys must be ...
 * (got 0)`), an unknown key `PREFIX: unknown option "store.x"; did you mean "y"?`.
 *
 * `prefix` is where the options sit (`store`, `response`; '' for top-level ones); `where` starts
 * the message when it differs (`createLimiter`, `diana()`).
 */
export function readOptions<Out>(schema: Schema<Out>, value: unknown, prefix: string, where = prefix): Out {
  const result = read(schema, value)
  if (result.ok) return result.value
  const issue = result.issues[0] as SchemaIssue
  throw new TypeError(optionMessage(issue, value, prefix, where))
}

function optionMessage(issue: SchemaIssue, value: unknown, prefix: string, where: string): string {
  const name = [prefix, ...issue.path].filter((part) => part !== '').join('.')
  if (issue.code === 'unknown_field') {
    const key = String(issue.path[issue.path.length - 1])
    // The schema's own hint (`; did you mean "y"?`) follows the quoted key.
    const rest = issue.message.slice(`unknown field ${quoted(key)}`.length)
    const option = where === prefix ? [...issue.path].join('.') : name
    return `${where}: unknown option ${quoted(option)}${rest}`
  }
  const at = where === prefix ? '' : `${where}: `
  if (issue.code === 'missing') return `${at}${name} is required`
  return `${at}${name} ${issue.message} (got ${shown(valueAt(value, issue.path))})`
}

/** A value as a message shows it: short, and never the contents of a function or a client. */
function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (value !== null && typeof value === 'object') return Array.isArray(value) ? 'a list' : 'an object'
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value)
  return text.length > 64 ? `${text.slice(0, 64)}…` : text
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let at = value
  for (const part of path) {
    if (at === null || typeof at !== 'object') return undefined
    at = (at as Record<string | number, unknown>)[part]
  }
  return at
}
