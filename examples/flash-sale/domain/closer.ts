import type { SaleState } from './sale-state'

/**
 * One pass of the delay queue: closes orders whose payment window has passed (at most `batch`)
 * and returns their stock. Safe to run in several processes at once: the close step re-checks
 * the order, so an order paid a moment ago, or closed by another process, is left alone.
 * Resolves with the number of orders this pass closed.
 */
export async function closeDueOrders(state: SaleState, now: number, batch = 500): Promise<number> {
  let closed = 0
  for (const orderId of await state.dueClosures(now, batch)) {
    const result = await state.closeOrder({ orderId, now })
    if (result.outcome === 'closed') closed++
  }
  return closed
}
