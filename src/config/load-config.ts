import { readFileSync } from 'node:fs'
import type { DianaConfig } from './config-schema'
import { parseConfig } from './parse-config'

/**
 * Reads and validates a configuration file synchronously, as a whole. Throws a `ConfigError`
 * whose message has one `FILE:LINE:COL: field: message` line per problem, or an `Error` with
 * the file name when it cannot be read.
 *
 * @example
 * const config = loadConfig('diana.yaml')
 * config.rules // Rule[], as written
 * config.response?.status // 429 | 503 | ...
 */
export function loadConfig(path: string): DianaConfig {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('loadConfig: path must be the path of a YAML file such as "diana.yaml"')
  }
  const result = parseConfig(readConfigText(path), path)
  if (!result.ok) throw result.error
  return result.value
}

export function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new Error(`${path}: cannot read the configuration file (${reason})`, { cause: error })
  }
}
