import { LRUCache } from 'lru-cache'
import type { RuleVerdict } from '../../algorithm'

interface Denial {
  /** Local time until which the same request is denied, if nothing else changes. */
  until: number
  /** Local time at which the key's quota is whole again. */
  resetAt: number
  cost: number
  /** The request can never pass (cost above the limit). */
  never: boolean
}

/**
 * Keys Redis said are over their limit, answered locally until then. Only denials with
 * nothing left (`remaining` 0) and a cost of at most one unit are kept, and only a request of
 * the same cost is answered from them: for those the remaining quota stays 0 and the wait
 * only shrinks with time until the quota frees up, so a cached answer is the one Redis would
 * give if nothing else arrived. Bounded by an LRU; times come from the local clock and are
 * relative, so a skewed local clock does not matter.
 */
export class DenialCache {
  readonly #cache: LRUCache<string, Denial>

  constructor(maxKeys: number) {
    this.#cache = new LRUCache({ max: maxKeys })
  }

  /** The cached denial of `key` for a request of `cost` at `now`, or undefined. */
  lookup(key: string, cost: number, now: number): RuleVerdict | undefined {
    const denial = this.#cache.get(key)
    if (denial === undefined || denial.cost !== cost) return undefined
    if (now >= denial.until) {
      this.#cache.delete(key)
      return undefined
    }
    return {
      allowed: false,
      remaining: 0,
      resetMs: Math.max(0, denial.resetAt - now),
      retryAfterMs: denial.never ? Number.POSITIVE_INFINITY : denial.until - now,
      delayMs: 0,
    }
  }

  /** Records what Redis just said about `key`. */
  learn(key: string, cost: number, verdict: RuleVerdict, now: number): void {
    if (verdict.allowed || verdict.remaining !== 0 || cost > 1 || !(verdict.retryAfterMs > 0)) {
      this.#cache.delete(key)
      return
    }
    // A request that can never pass (cost above the limit) is still re-asked now and then,
    // in case the rules change under the same key.
    const wait = Math.min(verdict.retryAfterMs, 60_000)
    this.#cache.set(key, {
      until: now + wait,
      resetAt: now + verdict.resetMs,
      cost,
      never: verdict.retryAfterMs === Number.POSITIVE_INFINITY,
    })
  }

  get size(): number {
    return this.#cache.size
  }
}
