import { durationSchema, parseDuration } from '../duration'
import { ruleSchema } from '../rules/rule-schema'
import {
  array,
  describe,
  discriminated,
  literal,
  nonEmptyString,
  type Output,
  object,
  oneOf,
  optional,
  positiveInteger,
  record,
  string,
  transform,
  union,
  unknownValue,
} from '../schema/schema'
import type { Rule } from '../types'
import { type ResponseOptions, responseSchema } from './response-schema'

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

const wholeNumber = positiveInteger('must be a whole number, at least 1')

export const ON_FAILURE_VALUES = ['fallback', 'open', 'closed'] as const

const memoryStoreSchema = describe(
  object(
    {
      type: describe(literal('memory', 'must be memory'), 'Counters live in this process (the default).'),
      maxKeys: describe(
        optional(positiveInteger('must be a whole number of keys, at least 1')),
        'Most keys (rule x subject) kept; least recently used evicted beyond. Default 100000.',
      ),
    },
    'must be { type: memory }',
  ),
  'In-process counters.',
)

const clusterNode = union(
  [
    nonEmptyString('a node URL'),
    object({ host: nonEmptyString('a host name'), port: wholeNumber }, 'must be { host, port }', {
      otherFields: 'keep', // further ioredis node options pass through
    }),
  ],
  'must be a node URL such as redis://10.0.0.1:7000 or { host, port }',
)

const redisStoreSchema = describe(
  object(
    {
      type: describe(literal('redis', 'must be redis'), 'Counters shared by every instance through Redis.'),
      url: describe(
        optional(nonEmptyString('a Redis URL such as redis://127.0.0.1:6379')),
        'Redis URL. Default redis://127.0.0.1:6379.',
      ),
      cluster: describe(
        optional(
          object(
            {
              nodes: array(clusterNode, 'must list at least one seed node', {
                minItems: 1,
                maxItems: 1000,
                tooMany: 'must list at most 1000 seed nodes',
              }),
              options: optional(record('must be a mapping of ioredis Cluster options')),
            },
            'must be { nodes, options }',
          ),
        ),
        'Redis Cluster seed nodes, instead of url; options are ioredis Cluster options.',
      ),
      onFailure: describe(
        optional(oneOf(ON_FAILURE_VALUES, `must be one of ${ON_FAILURE_VALUES.join(', ')}`)),
        'When Redis fails: fallback (decide locally, the default), open (allow), closed (deny).',
      ),
      commandTimeoutMs: describe(
        optional(wholeNumber),
        'Longest a check waits for Redis, in ms. Default 50.',
      ),
      failureThreshold: describe(
        optional(wholeNumber),
        'Consecutive failures that open the circuit breaker. Default 3.',
      ),
      probeBackoff: describe(
        optional(
          object({ minMs: optional(wholeNumber), maxMs: optional(wholeNumber) }, 'must be { minMs, maxMs }'),
        ),
        'Probe backoff while the breaker is open, in ms. Default { minMs: 50, maxMs: 1000 }.',
      ),
      heartbeatMs: describe(
        optional(wholeNumber),
        'How often this instance announces itself, in ms. Default 1000.',
      ),
      denialCache: describe(
        optional(
          union(
            [
              literal(false, 'must be false'),
              object({ maxKeys: optional(wholeNumber) }, 'must be { maxKeys }'),
            ],
            'must be false or { maxKeys }',
          ),
        ),
        'Local cache of keys Redis said are over their limit; false switches it off.',
      ),
      batch: describe(
        optional(
          union(
            [
              literal(false, 'must be false'),
              object({ maxChecks: optional(wholeNumber) }, 'must be { maxChecks }'),
            ],
            'must be false or { maxChecks }',
          ),
        ),
        'Checks of the same tick share one script call; false sends one per check.',
      ),
      keyPrefix: describe(optional(nonEmptyString('a key prefix')), 'Key namespace. Default diana.'),
      fallbackMaxKeys: describe(optional(wholeNumber), 'Most keys the local fallback keeps. Default 100000.'),
    },
    'must be { type: redis, url, onFailure, ... }',
  ),
  'Counters in Redis, shared by every instance.',
)

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
        'Namespace ID (tenant). Leave out for the public namespace.',
      ),
      group: describe(optional(nonEmptyString('a group name')), 'Default DEFAULT_GROUP.'),
      dataId: describe(nonEmptyString('a data ID'), 'Data ID of the rules document, e.g. diana-rules.yaml.'),
      username: describe(optional(nonEmptyString('a user name')), 'Nacos user, when authentication is on.'),
      password: describe(optional(string('must be a string')), 'Password of that user.'),
      timeout: describe(optional(duration), 'Timeout of one request to Nacos. Default 3s.'),
      startupWait: describe(
        optional(duration),
        'How long limiter.ready() waits for the first remote document. Default 2s.',
      ),
      snapshot: describe(
        optional(nonEmptyString('a file path')),
        'File keeping the last good remote document, relative to this file. Default .diana-snapshot.<dataId>.',
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
