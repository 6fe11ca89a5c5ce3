/**
 * Every option is documented once, in its interface's doc comment with its `@default`; the
 * JSON Schema that editors show carries the same text. This test keeps the two from drifting:
 * a new option without a description, or a doc comment edited on one side only, fails here.
 */
import { readFileSync } from 'node:fs'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { adapterHooksSchema } from '../../adapters/core/options'
import { responseSchema } from '../../src/config/response-schema'
import { limiterOptionsSchema } from '../../src/limiter-options'
import { overrideSchema, ruleSchema } from '../../src/rules/rule-schema'
import type { JsonSchema, Schema } from '../../src/schema/schema'
import { memoryStoreSchema } from '../../src/stores/memory-store-options'
import { redisStoreOptionsSchema } from '../../src/stores/redis/options'

/** The doc comment of each member of `name` in `file`, as the JSON Schema should say it. */
function docsOf(file: string, name: string): Record<string, string> {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const found = source.statements.find(
    (node): node is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(node) && node.name.text === name,
  )
  if (found === undefined) throw new Error(`${file}: no interface ${name}`)
  const docs: Record<string, string> = {}
  for (const member of found.members) {
    if (member.name === undefined || !ts.isIdentifier(member.name)) continue
    const jsDoc = (member as { jsDoc?: ts.JSDoc[] }).jsDoc?.at(-1)
    if (jsDoc === undefined) continue
    const text = plain(ts.getTextOfJSDocComment(jsDoc.comment) ?? '')
    const fallback = jsDoc.tags?.find((tag) => tag.tagName.text === 'default')
    const value = fallback && plain(ts.getTextOfJSDocComment(fallback.comment) ?? '')
    docs[member.name.text] =
      value === undefined ? text : `${text} Default: ${value.replace(/^'(.*)'$/, '$1')}.`
  }
  return docs
}

/** Doc-comment markup as plain text: `{@link x}` and backticks dropped, one space between words. */
function plain(text: string): string {
  return text
    .replace(/\{@link\s+(?:[\w.]+\.)?(\w+)\s*\}/g, '$1')
    .replace(/`/g, '')
    .replace(/(\d)_(\d)/g, '$1$2')
    .replace(/\s+/g, ' ')
    .trim()
}

function descriptions(schema: Schema<unknown>): Record<string, string | undefined> {
  const properties = schema.json().properties as Record<string, JsonSchema>
  return Object.fromEntries(
    Object.entries(properties).map(([key, json]) => [key, json.description as string | undefined]),
  )
}

describe('option docs and the JSON Schema say the same', () => {
  it.each([
    ['createLimiter', 'src/limiter-options.ts', 'LimiterOptions', limiterOptionsSchema],
    ['rule', 'src/rules/rule.ts', 'Rule', ruleSchema],
    ['rule override', 'src/rules/rule.ts', 'RuleOverride', overrideSchema],
    ['response', 'src/config/response-schema.ts', 'ResponseOptions', responseSchema],
    ['memory store', 'src/stores/memory-store-options.ts', 'MemoryStoreOptions', memoryStoreSchema],
    ['Redis store', 'src/stores/redis/options.ts', 'RedisStoreOptions', redisStoreOptionsSchema],
    ['adapter options', 'adapters/core/options.ts', 'AdapterHooks', adapterHooksSchema],
  ] as const)('%s', (_group, file, name, schema) => {
    expect(descriptions(schema)).toEqual(docsOf(file, name))
  })
})
