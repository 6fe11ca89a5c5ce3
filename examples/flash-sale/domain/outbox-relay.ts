import type { OutboxMessage } from './order'
import type { OutboxRetryPolicy, SaleState } from './sale-state'

export interface OutboxRelayOptions extends OutboxRetryPolicy {
  /** How long a claimed message stays hidden from other relays while this one delivers it. */
  leaseMs: number
}

/** @default maxAttempts 5, backoff 1 s doubling, lease 30 s */
export const DEFAULT_OUTBOX_RELAY_OPTIONS: OutboxRelayOptions = {
  maxAttempts: 5,
  backoffMs: 1000,
  leaseMs: 30_000,
}

export interface RelayPass {
  delivered: number
  retrying: number
  dead: number
}

/**
 * One pass of the outbox relay: claims due messages, hands each to the consumer, acknowledges
 * it, or on failure schedules another attempt with a doubling backoff until `maxAttempts`,
 * after which the message is parked as dead for a person to look at.
 */
export async function relayOutbox(
  state: SaleState,
  deliver: (message: OutboxMessage) => Promise<void>,
  now: number,
  options: OutboxRelayOptions = DEFAULT_OUTBOX_RELAY_OPTIONS,
  batch = 100,
): Promise<RelayPass> {
  const pass: RelayPass = { delivered: 0, retrying: 0, dead: 0 }
  const claimed = await state.claimOutbox(now, batch, options.leaseMs)
  for (const { message } of claimed) {
    try {
      await deliver(message)
      await state.ackOutbox(message.id)
      pass.delivered++
    } catch {
      const next = await state.failOutbox(message.id, now, options)
      if (next === 'dead') pass.dead++
      else pass.retrying++
    }
  }
  return pass
}
