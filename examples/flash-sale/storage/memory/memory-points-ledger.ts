import type { OutboxMessage } from '../../domain/order'
import { POINTS_PER_ORDER, type PointsLedger } from '../../domain/points-ledger'

/** The ledger in this process's memory: gone with it, like the memory-mode sale. */
export class MemoryPointsLedger implements PointsLedger {
  readonly #applied = new Set<string>()
  readonly #points = new Map<string, number>()
  received = 0

  async deliver(message: OutboxMessage): Promise<void> {
    this.received++
    if (this.#applied.has(message.id)) return
    this.#applied.add(message.id)
    this.#points.set(message.user, (this.#points.get(message.user) ?? 0) + POINTS_PER_ORDER)
  }

  async points(user: string): Promise<number> {
    return this.#points.get(user) ?? 0
  }

  async dispose(): Promise<void> {}
}
