import { compileRules } from '../rules/compile-rules'
import type { Rule } from '../rules/rule'
import { type ObjectSchema, read, type Schema, type SchemaIssue } from '../schema/schema'
import { ConfigError, type ConfigIssue } from './config-error'
import {
  configFileSchema,
  type DianaConfig,
  type RemoteDocument,
  remoteDocumentSchema,
} from './config-schema'
import { parseYamlInWorker } from './parse-worker'
import { type Anchor, type Position, parseYaml } from './yaml-positions'

export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: ConfigError }

/** Bounds on one configuration document, so a hostile one costs little to reject. */
export interface ConfigLimits {
  /**
   * Largest document taken, in bytes (UTF-8); a larger one is rejected before it is parsed.
   * @default {@link DEFAULT_MAX_CONFIG_BYTES}
   */
  maxBytes?: number | undefined
}

/**
 * 256 KiB. A rules file is a few kilobytes (a hundred rules in flow style, about 12 KB). The
 * worst shapes cost the parser milliseconds per kilobyte (seconds for 1 MiB of `[1,1,1,...]` on
 * a busy machine): at creation and in `diana validate` that is on the event loop, and on reload
 * it is worker time and memory, so the limit bounds both.
 */
export const DEFAULT_MAX_CONFIG_BYTES = 256 * 1024

/**
 * Rules one document may hold. A hundred rules is a large rules file; the bound keeps checking
 * a hostile document's rules (which runs on the event loop, also on reload) to milliseconds.
 */
export const MAX_RULES = 500

/** Problems listed in one error; a document with thousands is summarised after these. */
const MAX_ISSUES = 50

/**
 * Validates a whole `diana.yaml` text. Either everything is valid, or every problem is reported
 * with its position (`source:line:col: field: message`) and nothing is taken.
 * @param source the file path or source name that starts each message
 */
export function parseConfig(
  text: string,
  source: string,
  limits: ConfigLimits = {},
): ParseResult<DianaConfig> {
  return parseDocumentText(text, source, configFileSchema, limits) as ParseResult<DianaConfig>
}

/**
 * {@link parseConfig} off the event loop, for reloads: the YAML is parsed in a worker thread,
 * given at most 5 s (`PARSE_TIMEOUT_MS`); a document that takes longer is rejected.
 */
export function parseConfigAsync(
  text: string,
  source: string,
  limits: ConfigLimits = {},
): Promise<ParseResult<DianaConfig>> {
  return parseDocumentTextAsync(text, source, configFileSchema, limits) as Promise<ParseResult<DianaConfig>>
}

/** {@link parseRemoteDocument} off the event loop, for pushes; see {@link parseConfigAsync}. */
export function parseRemoteDocumentAsync(
  text: string,
  source: string,
  limits: ConfigLimits = {},
): Promise<ParseResult<RemoteDocument>> {
  return parseDocumentTextAsync(text, source, remoteDocumentSchema, limits) as Promise<
    ParseResult<RemoteDocument>
  >
}

/** Validates a remote rules document (`version` and `rules` only), as a whole. */
export function parseRemoteDocument(
  text: string,
  source: string,
  limits: ConfigLimits = {},
): ParseResult<RemoteDocument> {
  return parseDocumentText(text, source, remoteDocumentSchema, limits) as ParseResult<RemoteDocument>
}

type Path = (string | number)[]
type Found = { path: Path; message: string; anchor: Anchor }

function parseDocumentText(
  text: string,
  source: string,
  schema: TopSchema,
  limits: ConfigLimits,
): ParseResult<{ rules: Rule[] }> {
  const tooBig = sizeError(text, source, limits)
  if (tooBig) return { ok: false, error: tooBig }
  const yaml = parseYaml(text)
  if (!yaml.ok) return { ok: false, error: syntaxError(yaml.errors, source) }
  const checked = check(yaml.value, schema)
  if (checked.ok) return checked
  const positions = checked.found.map(({ path, anchor }) => yaml.locate(path, anchor))
  return { ok: false, error: located(checked.found, positions, source) }
}

/**
 * {@link parseDocumentText} for reloads: the text is parsed in a worker thread, so a document
 * the `yaml` package is slow on (up to a second for the worst 256 KiB) does not stall the
 * event loop; only the checks of the plain value run on it, and those are bounded by
 * {@link MAX_RULES}.
 */
async function parseDocumentTextAsync(
  text: string,
  source: string,
  schema: TopSchema,
  limits: ConfigLimits,
): Promise<ParseResult<{ rules: Rule[] }>> {
  const tooBig = sizeError(text, source, limits)
  if (tooBig) return { ok: false, error: tooBig }
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES
  try {
    return await parseYamlInWorker(
      text,
      async (yaml): Promise<ParseResult<{ rules: Rule[] }>> => {
        if (!yaml.ok) return { ok: false, error: syntaxError(yaml.errors, source) }
        const checked = check(yaml.value, schema)
        if (checked.ok) return checked
        const positions = await yaml.locate(checked.found.map(({ path, anchor }) => [path, anchor]))
        return { ok: false, error: located(checked.found, positions, source) }
      },
      { maxBytes },
    )
  } catch (error) {
    const issue = { source, line: 1, column: 1, path: [], message: (error as Error).message }
    return { ok: false, error: new ConfigError([issue]) }
  }
}

function sizeError(text: string, source: string, limits: ConfigLimits): ConfigError | undefined {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES
  // Characters first: a string is at least as many bytes as characters, and counting the
  // bytes of a huge one costs a pass over it.
  if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
    return new ConfigError([{ source, line: 1, column: 1, path: [], message: tooLarge(maxBytes) }])
  }
  return undefined
}

function syntaxError(errors: { position: Position; message: string }[], source: string): ConfigError {
  return new ConfigError(
    errors.map(
      ({ position, message }): ConfigIssue => ({
        source,
        ...position,
        path: [],
        message: `YAML syntax error: ${message}`,
      }),
    ),
  )
}

/** Validates the plain value of a document; the problems found still need their positions. */
function check(
  input: unknown,
  schema: TopSchema,
): { ok: true; value: { rules: Rule[] } } | { ok: false; found: Found[] } {
  const found: Found[] = []
  if (input === null || input === undefined) {
    found.push({ path: [], message: `is empty; expected ${describeTop(schema)}`, anchor: 'value' })
    return { ok: false, found }
  }
  if (typeof input !== 'object' || Array.isArray(input)) {
    found.push({ path: [], message: `must be a mapping with ${describeTop(schema)}`, anchor: 'value' })
    return { ok: false, found }
  }
  const rules = (input as { rules?: unknown }).rules
  // Checking a rule costs tens of microseconds, much more when it is wrong (every problem gets
  // a message and a "did you mean"): the count is what bounds the time a reload's checks take
  // on the event loop.
  if (Array.isArray(rules) && rules.length > MAX_RULES) {
    const message = `has ${rules.length} rules; a document takes at most ${MAX_RULES}`
    return { ok: false, found: [{ path: ['rules'], message, anchor: 'value' }] }
  }
  const parsed = read(schema, input)
  if (!parsed.ok) {
    for (const issue of parsed.issues) found.push(...fromSchemaIssue(issue))
  }
  // The rules are checked even when something else failed, so one run reports everything.
  if (Array.isArray(rules)) {
    const compiled = compileRules(rules)
    if (!compiled.ok) {
      for (const issue of compiled.issues) {
        const path = ['rules', ...issue.path]
        const unknown = issue.message.startsWith('unknown field')
        const missing = !unknown && issue.path.length > 1 && valueAt(input, path) === undefined
        found.push({
          path,
          message: missing ? 'is required' : issue.message,
          anchor: unknown ? 'key' : 'value',
        })
      }
    }
  }
  if (found.length === 0 && parsed.ok) return { ok: true, value: parsed.value as { rules: Rule[] } }
  return { ok: false, found: withoutEchoes(found) }
}

/** The error for `found`, each at its position (`positions[i]` for `found[i]`). */
function located(found: Found[], positions: Position[], source: string): ConfigError {
  const issues = found
    .map(({ path, message }, i): ConfigIssue => {
      const position = positions[i] ?? { line: 1, column: 1 }
      return { source, ...position, path, message }
    })
    .sort((a, b) => a.line - b.line || a.column - b.column)
  return new ConfigError(capped(issues))
}

/** The message of a document over `maxBytes`. */
function tooLarge(maxBytes: number): string {
  return `is larger than ${maxBytes} bytes (the maxConfigBytes limit)`
}

/** The first {@link MAX_ISSUES}, then one line at the next saying how many more there are. */
function capped(issues: ConfigIssue[]): ConfigIssue[] {
  const next = issues[MAX_ISSUES]
  if (next === undefined) return issues
  const more = issues.length - MAX_ISSUES
  return [...issues.slice(0, MAX_ISSUES), { ...next, path: [], message: `${more} more problems not shown` }]
}

/**
 * A misspelled required field shows up twice: as an unknown field and as a missing one. When
 * the unknown one's hint names the missing one, the hint says it all, so the echo is dropped;
 * so are exact repeats.
 */
function withoutEchoes(found: Found[]): Found[] {
  const guessed = new Set<string>()
  for (const { path, message } of found) {
    const guess = /did you mean "([^"]+)"\?$/.exec(message)?.[1]
    if (message.startsWith('unknown field') && guess)
      guessed.add(JSON.stringify([...path.slice(0, -1), guess]))
  }
  const seen = new Set<string>()
  return found.filter(({ path, message }) => {
    // A schema may report the same problem twice (a union and a refinement of one field).
    const key = JSON.stringify([path, message])
    if (seen.has(key)) return false
    seen.add(key)
    return message !== 'is required' || !guessed.has(JSON.stringify(path))
  })
}

type TopSchema = ObjectSchema<Record<string, Schema<unknown>>>

function describeTop(schema: TopSchema): string {
  return Object.keys(schema.shape)
    .filter((key) => !schema.shape[key]?.optional)
    .join(' and ')
}

function fromSchemaIssue(issue: SchemaIssue): Found[] {
  // Rule contents are reported by compileRules, with its own, more specific messages.
  if (issue.path[0] === 'rules' && issue.path.length > 1) return []
  return [
    { path: issue.path, message: issue.message, anchor: issue.code === 'unknown_field' ? 'key' : 'value' },
  ]
}

function valueAt(input: unknown, path: Path): unknown {
  let value = input
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined
    value = (value as Record<string, unknown>)[part]
  }
  return value
}
