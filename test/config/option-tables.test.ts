/**
 * The option tables of the docs are written from the option schemas by `npm run schema`
 * (src/config/option-tables.ts). These tests fail when a committed table says something the
 * schemas do not (a renamed option, a changed default or description), and when a default the
 * docs state is not the one the code applies.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { adapterHooksSchema, DEFAULT_ADAPTER_OPTIONS } from '../../adapters/core/options'
import { DOCS_WITH_OPTION_TABLES, OPTION_TABLES, withOptionTables } from '../../src/config/option-tables'
import { DEFAULT_MAX_CONFIG_BYTES } from '../../src/config/parse-config'
import { DEFAULT_RESPONSE_OPTIONS, responseSchema } from '../../src/config/response-schema'
import { DEFAULT_LIMITER_NAME } from '../../src/limiter-name'
import { limiterOptionsSchema } from '../../src/limiter-options'
import type { JsonSchema, Schema } from '../../src/schema/schema'
import { DEFAULT_MEMORY_STORE_OPTIONS, memoryStoreSchema } from '../../src/stores/memory-store-options'
import { DEFAULT_REDIS_STORE_OPTIONS, redisStoreOptionsSchema } from '../../src/stores/redis/options'

const root = new URL('../../', import.meta.url)
const read = (doc: string) => readFileSync(fileURLToPath(new URL(doc, root)), 'utf8')

describe('option tables in the docs', () => {
  it.each(DOCS_WITH_OPTION_TABLES)('%s is as npm run schema writes it', (doc) => {
    const committed = read(doc)
    expect(committed, `${doc}: an option table is out of date: run \`npm run schema\``).toBe(
      withOptionTables(committed, doc),
    )
  })

  it('shows every table somewhere, so none is generated for nothing', () => {
    const docs = DOCS_WITH_OPTION_TABLES.map(read).join('\n')
    for (const name of Object.keys(OPTION_TABLES)) expect(docs).toContain(`<!-- options: ${name} -->`)
  })

  it('writes a row per option, with the default the description states', () => {
    const text = withOptionTables('<!-- options: store.redis -->\n<!-- /options -->', 'test')
    expect(text).toContain(
      '| `keyPrefix` | 1–64 of A-Za-z0-9_.:- | `diana` | Key namespace; plain characters only. |',
    )
    expect(text).not.toContain('| `type`')
    expect(() => withOptionTables('<!-- options: nope -->\n<!-- /options -->', 'x.md')).toThrow(
      'x.md: no option table named "nope"',
    )
  })
})

/** `Default: X.` of each option's description, spaces and quotes dropped. */
function documentedDefaults(schema: Schema<unknown>): Record<string, string> {
  const properties = schema.json().properties as Record<string, JsonSchema>
  const defaults: Record<string, string> = {}
  for (const [key, json] of Object.entries(properties)) {
    const found = /Default: (.*)\.$/.exec((json.description as string | undefined) ?? '')
    if (found) defaults[key] = compact(found[1] as string)
  }
  return defaults
}

function compact(text: string): string {
  return text.replace(/["'\s]/g, '')
}

describe('documented defaults are the ones the code applies', () => {
  it.each([
    ['memory store', memoryStoreSchema, DEFAULT_MEMORY_STORE_OPTIONS],
    ['Redis store', redisStoreOptionsSchema, DEFAULT_REDIS_STORE_OPTIONS],
    ['response', responseSchema, DEFAULT_RESPONSE_OPTIONS],
    [
      'createLimiter',
      limiterOptionsSchema,
      { maxConfigBytes: DEFAULT_MAX_CONFIG_BYTES, name: DEFAULT_LIMITER_NAME },
    ],
    ['adapter options', adapterHooksSchema, { ...DEFAULT_ADAPTER_OPTIONS, response: undefined }],
  ] as const)('%s', (_group, schema, defaults) => {
    const documented = documentedDefaults(schema as Schema<unknown>)
    for (const [key, value] of Object.entries(defaults)) {
      if (key === 'type' || value === undefined) continue
      expect(documented[key], key).toBeDefined()
      expect(documented[key]?.startsWith(compact(JSON.stringify(value))), `${key}: ${documented[key]}`).toBe(
        true,
      )
    }
  })
})
