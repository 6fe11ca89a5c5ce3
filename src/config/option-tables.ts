import { limiterOptionsSchema } from '../limiter-options'
import { overrideSchema, ruleSchema } from '../rules/rule-schema'
import type { JsonSchema } from '../schema/schema'
import { memoryStoreSchema } from '../stores/memory-store-options'
import { redisStoreSchema } from '../stores/redis/options'
import { nacosSchema } from './config-schema'
import { responseSchema } from './response-schema'
import { serveSchema } from './serve-schema'

/**
 * The option tables of the docs, written from the schemas that read the options (`npm run
 * schema`), so a table cannot say another name, default or description than the code takes.
 * A doc holds a table between `<!-- options: NAME -->` and `<!-- /options -->`.
 */

interface TableSource {
  json: () => JsonSchema
  /** Written before each field name (`nacos.` for the fields of `remote.nacos`). */
  prefix?: string
  /** Fields the surrounding text covers (a store's `type`). */
  omit?: readonly string[]
}

export const OPTION_TABLES: Record<string, TableSource> = {
  createLimiter: { json: limiterOptionsSchema.json },
  'store.memory': { json: memoryStoreSchema.json, omit: ['type'] },
  'store.redis': { json: redisStoreSchema.json, omit: ['type'] },
  'remote.nacos': { json: nacosSchema.json, prefix: 'nacos.' },
  response: { json: responseSchema.json },
  serve: { json: serveSchema.json },
  rules: { json: ruleSchema.json },
  'rules.overrides': { json: overrideSchema.json },
}

/** The docs whose tables are generated, from the package root. */
export const DOCS_WITH_OPTION_TABLES = ['docs/configuration.md', 'docs/limiter-api.md']

const TABLE = /(<!-- options: ([\w.]+) -->\n)[\s\S]*?(<!-- \/options -->)/g

/** `text` with every marked table written afresh; an unknown table name is an error. */
export function withOptionTables(text: string, file: string): string {
  return text.replace(TABLE, (_whole, open: string, name: string, close: string) => {
    const source = OPTION_TABLES[name]
    if (source === undefined) throw new Error(`${file}: no option table named "${name}"`)
    return `${open}\n${optionTable(source)}\n\n${close}`
  })
}

/** One Markdown table: field, type, default and description of each option, in schema order. */
export function optionTable(source: TableSource): string {
  const json = source.json()
  const properties = json.properties as Record<string, JsonSchema>
  const required = new Set((json.required as string[] | undefined) ?? [])
  const rows = ['| field | type | default | description |', '| --- | --- | --- | --- |']
  for (const [key, field] of Object.entries(properties)) {
    if (source.omit?.includes(key)) continue
    const { text, fallback } = splitDefault((field.description as string | undefined) ?? '')
    const name = `\`${source.prefix ?? ''}${key}\`${required.has(key) ? ' (required)' : ''}`
    const shownDefault = required.has(key) ? '—' : fallback === undefined ? '—' : valueText(fallback)
    rows.push(`| ${[name, typeText(field), shownDefault, text].map(cell).join(' | ')} |`)
  }
  return rows.join('\n')
}

/** A description ends with `Default: X.` when the option has a default (the doc comments' `@default`). */
function splitDefault(description: string): { text: string; fallback: string | undefined } {
  const at = description.lastIndexOf(' Default: ')
  if (at < 0 || !description.endsWith('.')) return { text: description, fallback: undefined }
  return { text: description.slice(0, at), fallback: description.slice(at + ' Default: '.length, -1) }
}

/** A default that is a value (`fallback`, `100000`, `{ maxChecks: 64 }`) in code type; prose as is. */
function valueText(fallback: string): string {
  return /^[\w.:/@<>-]+$/.test(fallback) && fallback !== 'none' && fallback !== 'console'
    ? `\`${fallback}\``
    : fallback.startsWith('{')
      ? `\`${fallback}\``
      : fallback
}

/** What a value of this JSON Schema is, in a few words. */
export function typeText(json: JsonSchema): string {
  if (typeof json.title === 'string') return json.title
  if (json.const !== undefined) return `\`${String(json.const)}\``
  if (Array.isArray(json.enum)) return json.enum.map((value) => `\`${String(value)}\``).join(' | ')
  const options = (json.anyOf ?? json.oneOf) as JsonSchema[] | undefined
  if (options !== undefined) return [...new Set(options.map(typeText))].join(' | ')
  switch (json.type) {
    case 'boolean':
      return 'boolean'
    case 'integer':
      return `whole number${range(json)}`
    case 'number':
      return `number${range(json)}`
    case 'string':
      return json.maxLength === undefined
        ? 'string'
        : `string of ${json.minLength ?? 0}–${json.maxLength} characters`
    case 'array': {
      const count = json.maxItems === undefined ? '' : ` (${json.minItems ?? 0}–${json.maxItems as number})`
      return `list of ${typeText(json.items as JsonSchema)}${count}`
    }
    case 'object': {
      const properties = json.properties as Record<string, JsonSchema> | undefined
      if (properties === undefined || Object.keys(properties).length === 0) return 'mapping'
      const required = new Set((json.required as string[] | undefined) ?? [])
      const fields = Object.keys(properties).map((key) => (required.has(key) ? key : `${key}?`))
      return `\`{ ${fields.join(', ')} }\``
    }
    default:
      return 'any'
  }
}

function range(json: JsonSchema): string {
  const integer = json.type === 'integer'
  const low =
    json.minimum !== undefined
      ? `≥ ${json.minimum}`
      : json.exclusiveMinimum === undefined
        ? undefined
        : integer
          ? `≥ ${(json.exclusiveMinimum as number) + 1}`
          : `> ${json.exclusiveMinimum}`
  if (json.maximum !== undefined && json.minimum !== undefined) return ` ${json.minimum}–${json.maximum}`
  if (json.maximum !== undefined) return ` ≤ ${json.maximum}`
  return low === undefined ? '' : ` ${low}`
}

/** A table cell: pipes escaped, so a description cannot split it. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|')
}
