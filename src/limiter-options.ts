import type { Clock } from './clock'
import type { RemoteConfigSource } from './config/live-config'
import { isLimiterName, LIMITER_NAME_ERROR } from './limiter-name'
import type { Logger } from './logger'
import { peerHint } from './peer-options'
import type { Rule } from './rules/rule'
import { readOptions } from './schema/read-options'
import {
  boolean,
  describe,
  object,
  optional,
  positiveInteger,
  refine,
  string,
  titled,
  unknownValue,
} from './schema/schema'
import type { StoreOptions } from './stores/create-store'
import type { Store } from './stores/store'

/**
 * The options of `createLimiter`, read by {@link limiterOptionsSchema}: an option is added here
 * (its doc comment with `@default`, its schema entry) and where it is used.
 */
export interface LimiterOptions {
  /**
   * The rules to enforce, in priority order (ties for the binding rule go to the first).
   * Required unless `config` names a file with them.
   */
  rules?: readonly Rule[]
  /**
   * Path of a `diana.yaml` (see docs/configuration.md), instead of `rules`. Read and validated
   * at creation (a `ConfigError` with `FILE:LINE:COL` lines if invalid); its `store` is used
   * unless `store` is given; its `remote` section subscribes to a configuration centre.
   */
  config?: string
  /**
   * Watch the `config` file: a valid edit is in force within a second, counters of unchanged
   * rules carry on; an invalid edit is rejected (`configError`) and the rules in force stay.
   * @default true
   */
  watch?: boolean
  /**
   * Further remote configuration sources (etcd, Consul, an HTTP URL...), lowest precedence
   * first, after the `remote` of the file. Their rules override local rules of the same name.
   */
  sources?: readonly RemoteConfigSource[]
  /**
   * Where rejected configurations and unreachable sources are reported, one line each.
   * @default console
   */
  logger?: Logger
  /**
   * Largest configuration document taken, in bytes: the `config` file, each remote document
   * and its snapshot. A larger one is rejected (`ConfigError`) before it is parsed.
   * @default 262_144 (256 KiB)
   */
  maxConfigBytes?: number
  /**
   * Where counters live: `{ type: 'memory' }` (default) or a ready {@link Store}.
   * @default { type: 'memory', maxKeys: 100_000 }
   */
  store?: StoreOptions | Store
  /**
   * Epoch milliseconds; drives the memory store. Inject a fake clock in tests.
   * @default Date.now
   */
  clock?: Clock
  /**
   * What this limiter is called in metrics (the `limiter` label of `diana-limiter/metrics`) and
   * logs, so several limiters can report side by side. 1 to 128 printable characters.
   * @default 'default'
   */
  name?: string
}

const CONFIG_SOURCE_METHODS = ['read', 'convert', 'listen', 'close'] as const

function isSourceList(sources: unknown): boolean {
  return (
    Array.isArray(sources) &&
    sources.every((source) =>
      CONFIG_SOURCE_METHODS.every(
        (method) => typeof (source as Record<string, unknown> | null)?.[method] === 'function',
      ),
    )
  )
}

/**
 * The shape of each option of `createLimiter`. `rules` and `store` are read further by their
 * own schemas (`compileRules`, the store's options), which report with their own paths.
 * Descriptions are the doc comments of {@link LimiterOptions}, kept alike by
 * test/config/option-docs.test.ts.
 */
export const limiterOptionsSchema = object(
  {
    rules: describe(
      optional(titled(unknownValue(), 'list of Rule')),
      'The rules to enforce, in priority order (ties for the binding rule go to the first). Required unless config names a file with them.',
    ),
    config: describe(
      optional(string('must be the path of a YAML file such as "diana.yaml"', { minLength: 1 })),
      'Path of a diana.yaml (see docs/configuration.md), instead of rules. Read and validated at creation (a ConfigError with FILE:LINE:COL lines if invalid); its store is used unless store is given; its remote section subscribes to a configuration centre.',
    ),
    watch: describe(
      optional(boolean('must be true or false')),
      'Watch the config file: a valid edit is in force within a second, counters of unchanged rules carry on; an invalid edit is rejected (configError) and the rules in force stay. Default: true.',
    ),
    sources: describe(
      optional(
        titled(
          refine(
            unknownValue(),
            isSourceList,
            'must be a list of ConfigSource (read, convert, listen, close)',
          ),
          'list of ConfigSource',
        ),
      ),
      'Further remote configuration sources (etcd, Consul, an HTTP URL...), lowest precedence first, after the remote of the file. Their rules override local rules of the same name.',
    ),
    logger: describe(
      optional(
        titled(
          refine(
            unknownValue(),
            (logger) => typeof (logger as Logger | null)?.warn === 'function',
            'must have a warn(message) method',
          ),
          'Logger: { warn(message) }',
        ),
      ),
      'Where rejected configurations and unreachable sources are reported, one line each. Default: console.',
    ),
    maxConfigBytes: describe(
      optional(positiveInteger('must be a whole number of bytes, at least 1')),
      'Largest configuration document taken, in bytes: the config file, each remote document and its snapshot. A larger one is rejected (ConfigError) before it is parsed. Default: 262144 (256 KiB).',
    ),
    store: describe(
      optional(titled(unknownValue(), 'StoreOptions | Store')),
      "Where counters live: { type: 'memory' } (default) or a ready Store. Default: { type: 'memory', maxKeys: 100000 }.",
    ),
    clock: describe(
      optional(
        titled(
          refine(
            unknownValue(),
            (clock) => typeof clock === 'function',
            'must be a function returning epoch milliseconds',
          ),
          '() => epoch ms',
        ),
      ),
      'Epoch milliseconds; drives the memory store. Inject a fake clock in tests. Default: Date.now.',
    ),
    name: describe(
      optional(titled(refine(unknownValue(), isLimiterName, LIMITER_NAME_ERROR), 'string')),
      'What this limiter is called in metrics (the limiter label of diana-limiter/metrics) and logs, so several limiters can report side by side. 1 to 128 printable characters. Default: default.',
    ),
  },
  'must be an options object such as { rules: [...] }',
)

const OPTION_NAMES = Object.keys(limiterOptionsSchema.shape)

/**
 * Checks the options of `createLimiter`: each by {@link limiterOptionsSchema} (a TypeError
 * naming it, `createLimiter: maxConfigBytes must be ... (got 0)`), then the ones that only
 * make sense together.
 */
export function checkLimiterOptions(options: LimiterOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createLimiter: expected an options object such as { rules: [...] }')
  }
  // Another library's option name gets a pointer to its Diana counterpart before any near-miss
  // hint: `max` is not a misspelt `name`.
  for (const key of Object.keys(options)) {
    const peer = OPTION_NAMES.includes(key) ? '' : peerHint(key)
    if (peer !== '') throw new TypeError(`createLimiter: unknown option "${key}"${peer}`)
  }
  readOptions(limiterOptionsSchema, options, '', 'createLimiter')
  const { rules, config, watch } = options
  if (rules === undefined && config === undefined) {
    throw new TypeError(
      'createLimiter: rules is required (a list of rules), or config (the path of a diana.yaml)',
    )
  }
  if (rules !== undefined && config !== undefined) {
    throw new TypeError('createLimiter: pass either rules or config (the rules come from the file), not both')
  }
  if (watch !== undefined && config === undefined) {
    throw new TypeError('createLimiter: watch applies to a config file; pass config as well')
  }
}
