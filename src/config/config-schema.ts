import { durationSchema, parseDuration } from '../duration'
import type { Rule } from '../rules/rule'
import { ruleSchema } from '../rules/rule-schema'
import {
  array,
  describe,
  discriminated,
  literal,
  nonEmptyString,
  type Output,
  object,
  optional,
  string,
  transform,
  unknownValue,
} from '../schema/schema'
import { memoryStoreSchema } from '../stores/memory-store-options'
import { redisStoreSchema } from '../stores/redis/options'
import { type ResponseOptions, responseSchema } from './response-schema'
import { serveSchema } from './serve-schema'

export { RESPONSE_HEADER_STYLES, responseSchema } from './response-schema'

/**
 * The shape of `diana.yaml`: the one source of both runtime validation (`parseConfig`) and the
 * published `diana.schema.json`. Every object is strict, so a misspelled key is an error, not a
 * silently ignored setting. The rules reuse {@link ruleSchema} as they are; what depends on the
 * algorithm registry is checked afterwards by `compileRules`, so a newly registered algorithm
 * or dimension needs no change here and old files keep their meaning.
 */

/** A duration as written (`'2s'` or ms), read as milliseconds. */
const duration = transform(durationSchema, (value) => parseDuration(value) as number)

export const storeSchema = describe(
  discriminated(
    'type',
    { memory: memoryStoreSchema, redis: redisStoreSchema },
    'must be { type: memory } or { type: redis, url, onFailure, ... }',
  ),
  'Where counters live.',
)

export const nacosSchema = describe(
  object(
    {
      serverAddr: describe(
        nonEmptyString('host:port of a Nacos server (or several, comma-separated)'),
        'host:port of the Nacos server; several may be given, comma-separated.',
      ),
      namespace: describe(
        optional(string('must be a namespace ID')),
        'Namespace ID (tenant). Default: the public namespace.',
      ),
      group: describe(
        optional(nonEmptyString('a group name')),
        'Group of the rules document. Default: DEFAULT_GROUP.',
      ),
      dataId: describe(nonEmptyString('a data ID'), 'Data ID of the rules document, e.g. diana-rules.yaml.'),
      username: describe(optional(nonEmptyString('a user name')), 'Nacos user, when authentication is on.'),
      password: describe(optional(string('must be a string')), 'Password of that user.'),
      timeout: describe(optional(duration), 'Timeout of one request to Nacos. Default: 3s.'),
      startupWait: describe(
        optional(duration),
        'How long limiter.ready() waits for the first remote document. Default: 2s.',
      ),
      snapshot: describe(
        optional(nonEmptyString('a file path')),
        'File keeping the last good remote document, relative to this file. Default: .diana-snapshot.<dataId>.',
      ),
    },
    'must be a mapping with serverAddr and dataId',
  ),
  'Rules document in Nacos; its rules override local rules of the same name.',
)

export const remoteSchema = describe(
  object({ nacos: optional(nacosSchema) }, 'must be a mapping such as { nacos: { ... } }'),
  'Remote configuration centre whose rules override the local ones.',
)

const versionSchema = describe(
  literal(1, 'must be 1 (the only format version so far)'),
  'Format version of this file; always 1.',
)

const configFields = {
  version: versionSchema,
  store: optional(storeSchema),
  remote: optional(remoteSchema),
  response: optional(responseSchema),
  serve: optional(serveSchema),
}
const TOP_MESSAGE = 'must be a mapping with version and rules'

/** `diana.yaml` as published in the JSON Schema: rules spelled out with {@link ruleSchema}. */
export const configSchema = describe(
  object(
    {
      ...configFields,
      rules: describe(array(ruleSchema, 'must be a list of rules'), 'The rules, in priority order.'),
    },
    TOP_MESSAGE,
  ),
  'Diana rate-limiter configuration (diana-limiter).',
)

/**
 * The runtime twin of {@link configSchema}: the same fields, but the rule list is only required
 * to be a list here, because `compileRules` checks each rule against {@link ruleSchema} and the
 * algorithm registry together, reporting every problem with its position.
 */
const ruleList = array(unknownValue(), 'must be a list of rules')
export const configFileSchema = object({ ...configFields, rules: ruleList }, TOP_MESSAGE)

/** A remote rules document in a configuration centre: only `version` and `rules`. */
export const remoteDocumentSchema = object({ version: versionSchema, rules: ruleList }, TOP_MESSAGE)

type ParsedFile = Output<typeof configFileSchema>

/** A valid configuration file, durations in milliseconds. */
export interface DianaConfig extends Omit<ParsedFile, 'rules'> {
  rules: Rule[]
}

export type StoreConfig = Output<typeof storeSchema>
export type NacosConfig = Output<typeof nacosSchema>
/** The `response` section, read by the HTTP adapters. */
export type ResponseConfig = ResponseOptions

/** A valid remote rules document. */
export interface RemoteDocument {
  version: 1
  rules: Rule[]
}
