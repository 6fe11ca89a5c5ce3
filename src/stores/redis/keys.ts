import { createHash } from 'node:crypto'
import type { CompiledRule } from '../../rules/compiled-rule'

/** Key prefixes are plain, so they cannot open a hash tag or split a key. */
export const KEY_PREFIX_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/

/**
 * Redis key layout: `<prefix>:{<rule name>|<subject key>}:<fingerprint hash>`.
 *
 * - The braces are a Cluster hash tag: every key of one rule and subject lands in one slot.
 *   Rule names and subject keys (made key-safe by `keyPart`) never contain braces, so a
 *   hostile header cannot move a key to another slot or into another rule's keys.
 * - The fingerprint hash (name, dimensions, algorithm, parameters) changes when a rule's
 *   definition does, so a changed rule starts from fresh counters, and an unchanged one
 *   keeps its counts across reloads and processes.
 */
export class KeyLayout {
  readonly #prefix: string
  readonly #parts = new WeakMap<CompiledRule, readonly [string, string]>()

  constructor(prefix: string) {
    this.#prefix = prefix
  }

  /** The key holding `rule`'s state for the subject whose key part is `subjectKey`. */
  ruleKey(rule: CompiledRule, subjectKey: string): string {
    let parts = this.#parts.get(rule)
    if (parts === undefined) {
      const hash = createHash('sha1').update(rule.fingerprint).digest('base64url').slice(0, 10)
      parts = [`${this.#prefix}:{${rule.name}|`, `}:${hash}`]
      this.#parts.set(rule, parts)
    }
    return parts[0] + subjectKey + parts[1]
  }

  /** The sorted set of live instances (heartbeats). */
  instancesKey(): string {
    return `${this.#prefix}:{instances}`
  }
}
