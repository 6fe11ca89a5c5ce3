import type { OutboxMessage } from './order'

/** Loyalty points awarded for each paid order. */
export const POINTS_PER_ORDER = 10

/**
 * The consumer at the end of the outbox: it awards points for a paid order (and would send
 * the SMS). Delivery is at least once, so it remembers which messages it has applied and
 * applies each exactly once. `deliver` throwing asks the relay for another attempt. The two
 * implementations are in storage/memory and storage/redis.
 */
export interface PointsLedger {
  deliver(message: OutboxMessage): Promise<void>
  points(user: string): Promise<number>
  /** Deliveries received, duplicates included (to show idempotency at work). */
  readonly received: number
  dispose(): Promise<void>
}
