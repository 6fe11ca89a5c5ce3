import { dirname, resolve } from 'node:path'
import type { Logger } from '../logger'
import type { Rule } from '../rules/rule'
import type { DianaConfig } from './config-schema'
import { FileSource } from './file-source'
import { LiveConfig, type LiveConfigTarget, type RemoteConfigSource } from './live-config'
import { readConfigText } from './load-config'
import { NacosSource } from './nacos-source'
import { DEFAULT_MAX_CONFIG_BYTES, parseConfig } from './parse-config'

/** The configuration options of `createLimiter` (checked in src/limiter-options.ts), wired here. */
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
