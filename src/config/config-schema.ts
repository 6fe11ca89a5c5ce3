import { z } from 'zod'
import { DURATION_PATTERN, parseDuration } from '../duration'
import { ruleSchema } from '../rules/rule-schema'
import type { Rule } from '../types'

/**
 * The shape of `diana.yaml`: the one source of both runtime validation (`parseConfig`) and the
 * published `diana.schema.json`. Every object is strict, so a misspelled key is an error, not a
 * silently ignored setting. The rules reuse {@link ruleSchema} as they are; what depends on the
 * algorithm registry is checked afterwards by `compileRules`, so a newly registered algorithm
 * or dimension needs no change here and old files keep their meaning.
 */

const DURATION_ERROR = 'must be a duration such as 500ms, 1s, 1m, 1h, 1d, or a whole number of ms'

/** A duration as written (`'2s'` or ms), read as milliseconds. */
const duration = z
  .union(
    [
      z.number().int({ error: DURATION_ERROR }).positive({ error: DURATION_ERROR }),
      z.string().regex(new RegExp(DURATION_PATTERN), { error: DURATION_ERROR }),
    ],
    { error: DURATION_ERROR },
  )
  .transform((value) => parseDuration(value) as number)

const text = (what: string) => z.string({ error: `must be ${what}` }).min(1, { error: `must be ${what}` })
const wholeNumber = z
  .number({ error: 'must be a whole number, at least 1' })
  .int({ error: 'must be a whole number, at least 1' })
  .positive({ error: 'must be a whole number, at least 1' })

export const ON_FAILURE_VALUES = ['fallback', 'open', 'closed'] as const
export const RESPONSE_HEADER_STYLES = ['draft', 'legacy', 'both', 'none'] as const

const memoryStoreSchema = z
  .strictObject({
    type: z.literal('memory').describe('Counters live in this process (the default).'),
    maxKeys: z
      .number({ error: 'must be a whole number of keys, at least 1' })
      .int({ error: 'must be a whole number of keys, at least 1' })
      .positive({ error: 'must be a whole number of keys, at least 1' })
      .optional()
      .describe('Most keys (rule x subject) kept; least recently used evicted beyond. Default 100000.'),
  })
  .describe('In-process counters.')

const redisStoreSchema = z
  .strictObject({
    type: z.literal('redis').describe('Counters shared by every instance through Redis.'),
    url: text('a Redis URL such as redis://127.0.0.1:6379')
      .optional()
      .describe('Redis URL. Default redis://127.0.0.1:6379.'),
    cluster: z
      .strictObject({
        nodes: z
          .array(
            z.union([text('a node URL'), z.looseObject({ host: text('a host name'), port: wholeNumber })], {
              error: 'must be a node URL such as redis://10.0.0.1:7000 or { host, port }',
            }),
            { error: 'must be a list of seed nodes' },
          )
          .min(1, { error: 'must list at least one seed node' }),
        options: z
          .record(z.string(), z.unknown(), { error: 'must be a mapping of ioredis Cluster options' })
          .optional(),
      })
      .optional()
      .describe('Redis Cluster seed nodes, instead of url; options are ioredis Cluster options.'),
    onFailure: z
      .enum(ON_FAILURE_VALUES, { error: `must be one of ${ON_FAILURE_VALUES.join(', ')}` })
      .optional()
      .describe('When Redis fails: fallback (decide locally, the default), open (allow), closed (deny).'),
    commandTimeoutMs: wholeNumber.optional().describe('Longest a check waits for Redis, in ms. Default 50.'),
    connectWaitMs: wholeNumber
      .optional()
      .describe('Longest a check started before the first connection waits for it, in ms. Default 1000.'),
    failureThreshold: wholeNumber
      .optional()
      .describe('Consecutive failures that open the circuit breaker. Default 3.'),
    probeBackoff: z
      .strictObject({ minMs: wholeNumber.optional(), maxMs: wholeNumber.optional() })
      .optional()
      .describe('Probe backoff while the breaker is open, in ms. Default { minMs: 50, maxMs: 1000 }.'),
    heartbeatMs: wholeNumber
      .optional()
      .describe('How often this instance announces itself, in ms. Default 1000.'),
    denialCache: z
      .union([z.literal(false), z.strictObject({ maxKeys: wholeNumber.optional() })], {
        error: 'must be false or { maxKeys }',
      })
      .optional()
      .describe('Local cache of keys Redis said are over their limit; false switches it off.'),
    batch: z
      .union([z.literal(false), z.strictObject({ maxChecks: wholeNumber.optional() })], {
        error: 'must be false or { maxChecks }',
      })
      .optional()
      .describe('Checks of the same tick share one script call; false sends one per check.'),
    keyPrefix: text('a key prefix').optional().describe('Key namespace. Default diana.'),
    fallbackMaxKeys: wholeNumber.optional().describe('Most keys the local fallback keeps. Default 100000.'),
  })
  .describe('Counters in Redis, shared by every instance.')

export const storeSchema = z
  .discriminatedUnion('type', [memoryStoreSchema, redisStoreSchema], {
    error: 'must be { type: memory } or { type: redis, url, onFailure, ... }',
  })
  .describe('Where counters live.')

export const nacosSchema = z
  .strictObject({
    serverAddr: text('host:port of a Nacos server (or several, comma-separated)').describe(
      'host:port of the Nacos server; several may be given, comma-separated.',
    ),
    namespace: z
      .string({ error: 'must be a namespace ID' })
      .optional()
      .describe('Namespace ID (tenant). Leave out for the public namespace.'),
    group: text('a group name').optional().describe('Default DEFAULT_GROUP.'),
    dataId: text('a data ID').describe('Data ID of the rules document, e.g. diana-rules.yaml.'),
    username: text('a user name').optional().describe('Nacos user, when authentication is on.'),
    password: z.string({ error: 'must be a string' }).optional().describe('Password of that user.'),
    timeout: duration.optional().describe('Timeout of one request to Nacos. Default 3s.'),
    startupWait: duration
      .optional()
      .describe('How long limiter.ready() waits for the first remote document. Default 2s.'),
    snapshot: text('a file path')
      .optional()
      .describe(
        'File keeping the last good remote document, relative to this file. Default .diana-snapshot.<dataId>.',
      ),
  })
  .describe('Rules document in Nacos; its rules override local rules of the same name.')

export const remoteSchema = z
  .strictObject({ nacos: nacosSchema.optional() })
  .describe('Remote configuration centre whose rules override the local ones.')

export const responseSchema = z
  .strictObject({
    status: z
      .number({ error: 'must be an HTTP status from 400 to 599' })
      .int({ error: 'must be an HTTP status from 400 to 599' })
      .min(400, { error: 'must be an HTTP status from 400 to 599' })
      .max(599, { error: 'must be an HTTP status from 400 to 599' })
      .optional()
      .describe('Status of a denied request. Default 429.'),
    headers: z
      .enum(RESPONSE_HEADER_STYLES, { error: `must be one of ${RESPONSE_HEADER_STYLES.join(', ')}` })
      .optional()
      .describe(
        'Rate-limit headers: draft (RateLimit, RateLimit-Policy; default), legacy (X-RateLimit-*), both, none.',
      ),
  })
  .describe('How the HTTP adapters answer.')

const versionSchema = z
  .literal(1, { error: 'must be 1 (the only format version so far)' })
  .describe('Format version of this file; always 1.')

/** `diana.yaml` as published in the JSON Schema: rules spelled out with {@link ruleSchema}. */
export const configSchema = z
  .strictObject({
    version: versionSchema,
    store: storeSchema.optional(),
    remote: remoteSchema.optional(),
    response: responseSchema.optional(),
    rules: z
      .array(ruleSchema, { error: 'must be a list of rules' })
      .describe('The rules, in priority order.'),
  })
  .describe('Diana rate-limiter configuration (diana-limiter).')

/**
 * The runtime twin of {@link configSchema}: the same fields, but the rule list is only required
 * to be a list here, because `compileRules` checks each rule against {@link ruleSchema} and the
 * algorithm registry together, reporting every problem with its position.
 */
export const configFileSchema = configSchema.extend({
  rules: z.array(z.unknown(), { error: 'must be a list of rules' }),
})

/** A rules document in a configuration centre: only `version` and `rules`. */
export const remoteDocumentSchema = configFileSchema.pick({ version: true, rules: true })

type ParsedFile = z.output<typeof configFileSchema>

/** A valid configuration file, durations in milliseconds. */
export interface DianaConfig extends Omit<ParsedFile, 'rules'> {
  rules: Rule[]
}

export type StoreConfig = z.output<typeof storeSchema>
export type NacosConfig = z.output<typeof nacosSchema>
/** The `response` section, read by the HTTP adapters. */
export type ResponseConfig = z.output<typeof responseSchema>

/** A valid remote rules document. */
export interface RemoteDocument {
  version: 1
  rules: Rule[]
}
