import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import AjvModule from 'ajv'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

// What an editor does with diana.schema.json: validate the YAML as you type. Ajv (a JSON
// Schema validator, here through Fastify) stands in for the editor's YAML language server.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as typeof AjvModule
const schema = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../diana.schema.json', import.meta.url)), 'utf8'),
)
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema)
const fixture = (name: string) =>
  parse(readFileSync(fileURLToPath(new URL(`fixtures/${name}`, import.meta.url)), 'utf8')) as unknown

describe('diana.schema.json in an editor', () => {
  it.each(['valid.yaml', 'contract-example.yaml', 'redis-store.yaml', 'remote-durations.yaml'])(
    'accepts %s',
    (name) => {
      expect(validate(fixture(name)), JSON.stringify(validate.errors)).toBe(true)
    },
  )

  it.each([
    ['misspelled-key.yaml', '/rules/0', 'additionalProperties'],
    ['misspelled-top-key.yaml', '', 'additionalProperties'],
    ['misspelled-nested-key.yaml', '/remote/nacos', 'additionalProperties'],
    ['bad-duration.yaml', '/rules/0/window', 'pattern'],
    ['burst-on-fixed-window.yaml', '/rules/0', 'not'],
    ['wrong-type.yaml', '/rules/0/limit', 'type'],
    ['bad-store.yaml', '/store/onFailure', 'enum'],
    ['bad-version.yaml', '/version', 'const'],
  ])('underlines %s at %s (%s)', (name, where, keyword) => {
    expect(validate(fixture(name))).toBe(false)
    expect(validate.errors?.map((error) => [error.instancePath, error.keyword])).toContainEqual([
      where,
      keyword,
    ])
  })
})
