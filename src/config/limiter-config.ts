import { dirname, resolve } from 'node:path'
import type { Logger } from '../logger'
import type { Rule } from '../rules/rule'
import type { DianaConfig } from './config-schema'
import { FileSource } from './file-source'
import { LiveConfig, type LiveConfigTarget, type RemoteConfigSource } from './live-config'
import { readConfigText } from './load-config'
import { NacosSource } from './nacos-source'
import { DEFAULT_MAX_CONFIG_BYTES, parseConfig } from './parse-config'

/** The configuration options of `createLimiter`, checked and wired here. */
export interface LimiterConfigOptions {
  rules?: readonly Rule[] | undefined
  config?: string | undefined
  watch?: boolean | undefined
  sources?: readonly RemoteConfigSource[] | undefined
  logger?: Logger | undefined
  maxConfigBytes?: number | undefined
}

/** A configuration file as read at creation. */
export interface LoadedFile {
  path: string
  text: string
  config: DianaConfig
}

/** TypeErrors naming the option, for `createLimiter`. */
export function checkConfigOptions(options: LimiterConfigOptions): void {
  const { rules, config, watch, sources, logger, maxConfigBytes } = options
  if (rules === undefined && config === undefined) {
    throw new TypeError(
      'createLimiter: rules is required (a list of rules), or config (the path of a diana.yaml)',
    )
  }
  if (rules !== undefined && config !== undefined) {
    throw new TypeError('createLimiter: pass either rules or config (the rules come from the file), not both')
  }
  if (config !== undefined && (typeof config !== 'string' || config === '')) {
    throw new TypeError('createLimiter: config must be the path of a YAML file such as "diana.yaml"')
  }
  if (watch !== undefined && typeof watch !== 'boolean') {
    throw new TypeError('createLimiter: watch must be true or false')
  }
  if (watch !== undefined && config === undefined) {
    throw new TypeError('createLimiter: watch applies to a config file; pass config as well')
  }
  if (sources !== undefined) {
    const valid =
      Array.isArray(sources) &&
      sources.every((source) =>
        ['read', 'convert', 'listen', 'close'].every(
          (method) => typeof (source as unknown as Record<string, unknown>)?.[method] === 'function',
        ),
      )
    if (!valid)
      throw new TypeError(
        'createLimiter: sources must be a list of ConfigSource (read, convert, listen, close)',
      )
  }
  if (logger !== undefined && typeof logger?.warn !== 'function') {
    throw new TypeError('createLimiter: logger must have a warn(message) method')
  }
  if (maxConfigBytes !== undefined && !(Number.isSafeInteger(maxConfigBytes) && maxConfigBytes >= 1)) {
    throw new TypeError(
      `createLimiter: maxConfigBytes must be a whole number of bytes, at least 1 (got ${String(maxConfigBytes)})`,
    )
  }
}

/** Reads and validates the file named by `config`, at creation; throws a `ConfigError`. */
export function readLimiterConfig(options: LimiterConfigOptions): LoadedFile | undefined {
  if (options.config === undefined) return undefined
  const path = options.config
  const maxBytes = options.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES
  const text = readConfigText(path, maxBytes)
  const result = parseConfig(text, path, { maxBytes })
  if (!result.ok) throw result.error
  return { path, text, config: result.value }
}

/**
 * Starts watching the file and subscribing to the remote sources, or returns undefined when
 * the rules were given in code without sources, so that costs nothing.
 */
export function startLiveConfig(
  options: LimiterConfigOptions,
  file: LoadedFile | undefined,
  target: LiveConfigTarget,
): LiveConfig | undefined {
  const remotes: RemoteConfigSource[] = []
  const nacos = file?.config.remote?.nacos
  if (file && nacos) {
    const { snapshot, startupWait, timeout, ...connection } = nacos
    const snapshotName = snapshot ?? `.diana-snapshot.${nacos.dataId.replace(/[^A-Za-z0-9._-]/g, '_')}`
    remotes.push(
      new NacosSource({
        ...connection,
        snapshot: resolve(dirname(file.path), snapshotName),
        startupWaitMs: startupWait,
        timeoutMs: timeout,
        maxBytes: options.maxConfigBytes,
      }),
    )
  }
  remotes.push(...(options.sources ?? []))
  const watch = file !== undefined && options.watch !== false
  if (!file && remotes.length === 0) return undefined
  return new LiveConfig(target, {
    rules: file ? file.config.rules : (options.rules ?? []),
    file: file && {
      source: new FileSource(file.path, { maxBytes: options.maxConfigBytes }),
      text: file.text,
      config: file.config,
    },
    watch,
    remotes,
    logger: options.logger ?? console,
  })
}
