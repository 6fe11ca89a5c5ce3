/**
 * Something that decides requests for a key: Diana or a peer, set up as the same quota. Every
 * benchmark that compares limiters check by check drives its contenders through this alone.
 */
export interface Contender {
  readonly name: string
  check(key: string): Promise<unknown>
  /** Whether a check's answer came from a local fallback instead of the store under test. */
  degraded?(answer: unknown): boolean
  /**
   * Releases the contender. `keys` are the keys it was driven with: a contender whose keys hold
   * state that would outlive it (timers) drops them, so they do not weigh on the next
   * scenario's garbage collections.
   */
  dispose(keys: readonly string[]): Promise<void>
}
