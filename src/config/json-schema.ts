import { algorithmNames, dimensionNames, findAlgorithm } from '../registry'
import { configSchema } from './config-schema'

/**
 * The JSON Schema of `diana.yaml`, derived from {@link configSchema} (draft-07, which YAML
 * editors read best). From the algorithm registry it adds the known names as `examples` (so
 * editors offer them without forbidding registered ones) and underlines `burst` on algorithms
 * that do not take one.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = configSchema.json()
  const rule = (schema.properties as JsonObject).rules as JsonObject
  const fields = (rule.items as JsonObject).properties as JsonObject
  ;(fields.algorithm as JsonObject).examples = algorithmNames()
  ;(fields.dimension as JsonObject).examples = dimensionNames()
  const noBurst = algorithmNames().filter((name) => !findAlgorithm(name)?.acceptsBurst)
  ;(rule.items as JsonObject).if = {
    properties: { algorithm: { enum: noBurst } },
    required: ['algorithm'],
  }
  // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword, not a thenable.
  ;(rule.items as JsonObject).then = { not: { required: ['burst'] } }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://unpkg.com/diana-limiter/diana.schema.json',
    title: 'diana.yaml',
    ...schema,
  }
}

/** The file's exact text, so a test can compare the committed copy byte for byte. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`
}

type JsonObject = Record<string, unknown>
