import type { RuleVerdict } from '../../algorithm'
import { LruMap } from '../lru-map'

interface Denial {
  /** Local time of the answer. */
  at: number
  /** Local time until which the same check is denied, if nothing else changes. */
  until: number
  verdicts: readonly RuleVerdict[]
  keys: readonly string[]
  /** Write versions of `keys` when the answer came. */
  versions: readonly number[]
  era: number
}

/**
 * Checks Redis said are over a limit, answered locally until the first denying rule frees up,
 * without a round trip. A cached answer is exactly the one Redis would give if nothing else
 * arrived: the waits and resets only shrink with time, and `remaining` stays 0 because only
 * checks costing at most one unit are kept. Entries are per check (the same keys and cost),
 * so the binding rule is the one Redis named, and a check of this process that writes any of
 * those keys in between drops the entry. Traffic from other instances can only make the real
 * wait longer; the caller then asks Redis again when the cached wait is over.
 *
 * Bounded by an LRU of checks; times come from the local clock and are relative, so a skewed
 * local clock does not matter.
 */
export class DenialCache {
  readonly #entries: LruMap<Denial>
  /** Write versions of keys that cached answers depend on. */
  #versions = new Map<string, number>()
  #era = 0
  readonly #maxWatched: number

  constructor(maxKeys: number) {
    this.#entries = new LruMap(maxKeys)
    this.#maxWatched = maxKeys * 8
  }

  get size(): number {
    return this.#entries.size
  }

  /** The cached answer to a check of `keys` and `cost` at `now`, or undefined. */
  lookup(keys: readonly string[], cost: number, now: number): RuleVerdict[] | undefined {
    const signature = signatureOf(keys, cost)
    const denial = this.#entries.get(signature)
    if (denial === undefined) return undefined
    if (now >= denial.until || now < denial.at || denial.era !== this.#era || this.#changed(denial)) {
      this.#entries.delete(signature)
      return undefined
    }
    const elapsed = now - denial.at
    return denial.verdicts.map((verdict) =>
      verdict.allowed
        ? verdict
        : {
            allowed: false,
            remaining: 0,
            resetMs: Math.max(0, verdict.resetMs - elapsed),
            retryAfterMs: verdict.retryAfterMs - elapsed,
            delayMs: 0,
          },
    )
  }

  /**
   * Records Redis's answer to a check. Denied checks of at most one unit without shadow rules
   * are kept; an admitted check marks its keys as written.
   */
  learn(
    keys: readonly string[],
    cost: number,
    verdicts: readonly RuleVerdict[],
    admitted: boolean,
    hasShadow: boolean,
    now: number,
  ): void {
    if (admitted) {
      this.forget(keys)
      return
    }
    if (hasShadow || cost > 1) return
    let until = Number.POSITIVE_INFINITY
    for (const verdict of verdicts) {
      if (!verdict.allowed && verdict.retryAfterMs < until) until = verdict.retryAfterMs
    }
    // A check that can never pass is asked again now and then, as rules may change.
    if (!(until > 0)) return
    until = now + Math.min(until, 60_000)
    if (this.#versions.size >= this.#maxWatched) {
      this.#versions = new Map()
      this.#era += 1
    }
    const versions = keys.map((key) => {
      let version = this.#versions.get(key)
      if (version === undefined) {
        version = 0
        this.#versions.set(key, 0)
      }
      return version
    })
    this.#entries.set(signatureOf(keys, cost), { at: now, until, verdicts, keys, versions, era: this.#era })
  }

  /**
   * `keys` were written (an admitted check) or changed otherwise (a reset, a refund): answers
   * that depend on any of them are dropped.
   */
  forget(keys: readonly string[]): void {
    if (this.#versions.size === 0) return
    for (const key of keys) {
      const version = this.#versions.get(key)
      if (version !== undefined) this.#versions.set(key, version + 1)
    }
  }

  #changed(denial: Denial): boolean {
    for (let i = 0; i < denial.keys.length; i++) {
      if (this.#versions.get(denial.keys[i] as string) !== denial.versions[i]) return true
    }
    return false
  }
}

function signatureOf(keys: readonly string[], cost: number): string {
  return keys.length === 1 ? `${keys[0]}\n${cost}` : `${keys.join('\n')}\n${cost}`
}
