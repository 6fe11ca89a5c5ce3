// Where the sale stands for this buyer: every text and button of the page follows it, and a
// message said in one phase is taken down when the phase changes (app.js), so the page never
// says "come back when the countdown ends" after it ended, nor offers "Buy now" when there is
// nothing this buyer can buy.
//
//   before-start  the countdown runs
//   live          items left, this buyer holds no order
//   sold-out      no items left, but an unpaid order may still send its item back on sale
//   ended         no items left and none can come back: every order is paid
//   ordered       this buyer holds an order waiting for payment (one per customer)
//   paid          this buyer paid

/** The sale's own phase, whoever looks: before-start, live, sold-out or ended. */
export function salePhase(sale, now) {
  if (now < sale.startsAt) return 'before-start'
  if (sale.stockLeft > 0) return 'live'
  return sale.awaitingPayment ? 'sold-out' : 'ended'
}

/** The phase for a buyer with `order` (their live or last order, if any). */
export function buyerPhase(sale, order, now) {
  const phase = salePhase(sale, now)
  if (phase === 'before-start') return phase
  if (order?.status === 'paid') return 'paid'
  // Past its pay-by time an order is as good as closed, even before the closer has run.
  if (order?.status === 'pending' && order.payBy > now) return 'ordered'
  return phase
}
