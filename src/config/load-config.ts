import { closeSync, openSync, readSync } from 'node:fs'
import { errorReason } from '../error-reason'
import type { DianaConfig } from './config-schema'
import { type ConfigLimits, DEFAULT_MAX_CONFIG_BYTES, parseConfig } from './parse-config'

/**
 * Reads and validates a configuration file synchronously, as a whole. Throws a `ConfigError`
 * whose message has one `FILE:LINE:COL: field: message` line per problem, or an `Error` with
 * the file name when it cannot be read.
 *
 * @example
 * const config = loadConfig('diana.yaml')
 * config.rules // Rule[], as written
 * config.response?.status // 429 | 503 | undefined
 */
export function loadConfig(path: string, limits: ConfigLimits = {}): DianaConfig {
  if (typeof path !== 'string' || path === '') {
    throw new TypeError('loadConfig: path must be the path of a YAML file such as "diana.yaml"')
  }
  const result = parseConfig(readConfigText(path, limits.maxBytes), path, limits)
  if (!result.ok) throw result.error
  return result.value
}

/**
 * The first `maxBytes + 1` bytes of a file, as text: a larger file comes back just long enough
 * to be rejected as too large, however big it is. Errors (ENOENT...) are the file system's.
 */
export function readTextUpTo(path: string, maxBytes: number): string {
  const fd = openSync(path, 'r')
  try {
    const chunks: Buffer[] = []
    let length = 0
    while (length <= maxBytes) {
      // Pieces of 64 KiB at most, so a small file costs a small buffer.
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - length))
      const read = readSync(fd, chunk, 0, chunk.length, null)
      if (read === 0) break
      chunks.push(chunk.subarray(0, read))
      length += read
    }
    return Buffer.concat(chunks, length).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** The configuration file's text, read no further than one byte past `maxBytes`. */
export function readConfigText(path: string, maxBytes = DEFAULT_MAX_CONFIG_BYTES): string {
  try {
    return readTextUpTo(path, maxBytes)
  } catch (error) {
    throw new Error(`${path}: cannot read the configuration file (${errorReason(error, true)})`, {
      cause: error,
    })
  }
}
