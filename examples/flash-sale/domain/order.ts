/** Where an order is in its life: created `pending`, then exactly one of `paid` or `closed`. */
export type OrderStatus = 'pending' | 'paid' | 'closed'

export interface Order {
  id: string
  user: string
  status: OrderStatus
  /** Epoch ms when the stock was deducted. */
  createdAt: number
  /** Epoch ms by which the order must be paid; at or after it the closer returns the stock. */
  payBy: number
  paidAt?: number
  closedAt?: number
}

/** What a purchase attempt came to, after Diana let it through. */
export type PurchaseResult =
  | { outcome: 'created'; order: Order }
  /** Same user, same idempotency key: the order the first attempt created. */
  | { outcome: 'replayed'; order: Order }
  /** The user already holds a live (pending or paid) order; one per user. */
  | { outcome: 'already-ordered'; order: Order }
  | { outcome: 'sold-out' }
  | { outcome: 'not-eligible' }
  | { outcome: 'not-started'; startsAt: number }

export type PayResult =
  | { outcome: 'paid'; order: Order }
  | { outcome: 'already-paid'; order: Order }
  /** Closed by the delay queue (or the window passed): the stock went back on sale. */
  | { outcome: 'closed'; order: Order }
  | { outcome: 'expired'; order: Order }
  | { outcome: 'not-found' }

export type CloseResult =
  | { outcome: 'closed'; order: Order }
  /** Paid (or already closed) first: nothing to do. */
  | { outcome: 'not-pending'; order: Order }
  | { outcome: 'not-due'; order: Order }
  | { outcome: 'not-found' }

/** A message recorded in the same step as the state change that caused it. */
export interface OutboxMessage {
  /** Stable id, derived from the cause, so a replay can never create a second message. */
  id: string
  type: 'order-paid'
  orderId: string
  user: string
  createdAt: number
}

/** A message handed to the relay, with how many times delivery has been tried (this one included). */
export interface ClaimedMessage {
  message: OutboxMessage
  attempt: number
}

/** Figures an operator (and the load demo) checks after a sale. */
export interface SaleAudit {
  stockTotal: number
  stockLeft: number
  orders: { pending: number; paid: number; closed: number }
  /** Users holding more than one live (pending or paid) order. Must be 0. */
  usersWithSeveralLiveOrders: number
  /** Live orders beyond the stock that exists. Must be 0. */
  oversold: number
  outbox: { pending: number; delivered: number; dead: number }
}
