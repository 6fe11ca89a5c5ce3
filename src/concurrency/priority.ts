/** How much a request matters when an adaptive limit has to turn some away. */
export type Priority = 'critical' | 'normal' | 'sheddable'

export const PRIORITIES: readonly Priority[] = ['critical', 'normal', 'sheddable']

/**
 * The fraction of the adaptive limit that requests of each priority may fill. A request is
 * admitted only while the requests already in flight stay below its share, so under pressure
 * `sheddable` is turned away first (from half the limit on), `normal` next, and the last fifth
 * of the limit is kept for `critical`, as Stripe's load shedder keeps 20 % for critical traffic.
 * When no critical traffic comes, the learned limit grows until the normal share alone covers
 * the service's capacity, so a reserve costs no throughput; it is what a burst of critical
 * requests gets at once, before the limit shrinks back.
 */
export type PriorityShares = Readonly<Record<Priority, number>>

export const DEFAULT_PRIORITY_SHARES: PriorityShares = { critical: 1, normal: 0.8, sheddable: 0.5 }

/** The most requests in flight under which a request of this share is still admitted. */
export function capFor(limit: number, share: number): number {
  // At least one: a share never shuts a priority out entirely while nothing is in flight.
  return Math.max(1, Math.floor(limit * share))
}
