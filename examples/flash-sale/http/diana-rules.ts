import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import type { Rule } from '../../../src/types'

/**
 * Reads the `rules` of a Diana YAML file. Stand-in until `createLimiter({ config })` loads
 * files itself; the limiter still validates every rule.
 */
export function readDianaRules(path: string): Rule[] {
  const document = parse(readFileSync(path, 'utf8')) as { rules?: unknown }
  if (!Array.isArray(document?.rules)) throw new TypeError(`${path}: expected a "rules" list`)
  return document.rules as Rule[]
}
