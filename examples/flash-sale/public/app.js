// The flash-sale page: static, cacheable, no framework. Times come from the server
// (`now` in /api/sale) so a visitor's wrong clock cannot open the sale early. What it shows
// follows the sale's phase (phase.js); a refusal by Diana names the rule (refusal.js).

import { buyerPhase, salePhase } from './phase.js'
import { readRefusal, refusalText } from './refusal.js'

const $ = (id) => document.getElementById(id)
const el = {
  who: $('who'),
  name: $('name'),
  description: $('description'),
  price: $('price'),
  stockLeft: $('stock-left'),
  stockTotal: $('stock-total'),
  stockBar: $('stock-bar'),
  countdown: $('countdown'),
  reserve: $('reserve'),
  user: $('user'),
  buy: $('buy'),
  result: $('result'),
  order: $('order'),
  orderId: $('order-id'),
  orderStatus: $('order-status'),
  payLeft: $('pay-left'),
  pay: $('pay'),
  cooldown: $('cooldown'),
}

const state = {
  sale: undefined,
  /** server time minus local time, in ms */
  offset: 0,
  user: undefined,
  order: undefined,
  /** local time until which the buy button stays disabled after a click or a refusal */
  coolUntil: 0,
  busy: false,
  /** the message under the button: `{ text: string | () => string, tone, phase }` */
  notice: undefined,
}

// The button's words in each phase; only `live` offers to buy.
const BUTTON = {
  'before-start': 'Not yet open',
  live: 'Buy now',
  'sold-out': 'Sold out',
  ended: 'Sold out',
  ordered: 'Ordered · pay below',
  paid: 'Bought · thank you',
}

// The line above the button: the sale's own phase, the same for everyone.
const SALE_LINE = {
  live: 'The sale is open',
  'sold-out': 'Sold out for now · unpaid orders go back on sale',
  ended: 'The sale has ended · every item is sold',
}

// What signing in leads to, in each phase.
const AFTER_SIGN_IN = {
  'before-start': 'Come back when the countdown ends.',
  live: 'The sale is open: buy now.',
  'sold-out': 'Every item is taken for now; one goes back on sale if its buyer does not pay in time.',
  ended: 'The sale has ended: every item is sold.',
  ordered: 'Your order is waiting for payment.',
  paid: 'Your order is paid.',
}

const serverNow = () => Date.now() + state.offset

// One device id per browser, signed by the shop: the per-device rule counts only ids the shop
// issued. Asked for once and kept; without one the shop counts this browser by its address.
let deviceRequest
function deviceId() {
  const kept = localStorage.getItem('fs-device-signed')
  if (kept) return Promise.resolve(kept)
  deviceRequest ??= fetch('/api/device', { method: 'POST' })
    .then((response) => (response.ok ? response.json() : {}))
    .then((body) => {
      if (typeof body.deviceId !== 'string') return ''
      localStorage.setItem('fs-device-signed', body.deviceId)
      return body.deviceId
    })
    .catch(() => '')
    .finally(() => {
      deviceRequest = undefined
    })
  return deviceRequest
}

// One idempotency key per purchase attempt series: a retry after a lost answer reuses it and
// gets the same order back. It is dropped once that order is closed, so the next try is new.
function purchaseKey() {
  const name = `fs-key:${state.user}`
  let key = sessionStorage.getItem(name)
  if (!key) {
    key = crypto.randomUUID().replaceAll('-', '')
    sessionStorage.setItem(name, key)
  }
  return key
}

async function api(path, init = {}) {
  const device = await deviceId()
  const response = await fetch(path, {
    ...init,
    headers: {
      'content-type': 'application/json',
      ...(device ? { 'x-device-id': device } : {}),
      ...(init.headers ?? {}),
    },
  })
  let body = {}
  try {
    body = await response.json()
  } catch {}
  return { status: response.status, headers: response.headers, body }
}

function money(cents, currency) {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).format(cents / 100)
}

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** This buyer's phase now, or undefined before the sale is known. */
function phaseNow() {
  return state.sale && buyerPhase(state.sale, state.order, serverNow())
}

/**
 * Shows a message for as long as the phase it was said in lasts. `text` may be a function, for
 * a message that counts down.
 */
function say(text, tone) {
  state.notice = { text, tone, phase: phaseNow() }
  render()
}

/** Diana's refusal in words, counting down its wait; the button waits as long. */
function sayRefused(refusal) {
  const until = Date.now() + refusal.retryAfterS * 1000
  state.coolUntil = Math.max(state.coolUntil, until)
  say(() => refusalText(refusal, Math.max(0, Math.ceil((until - Date.now()) / 1000))), 'warn')
}

async function loadSale(fresh = false) {
  const sent = Date.now()
  // Polls may be served from cache (the page is built to sit behind a CDN); after a purchase
  // the visitor wants the stock as it is now.
  const { status, body } = await api('/api/sale', fresh ? { cache: 'no-cache' } : {})
  if (status !== 200) return
  // Half the round trip is the best guess of how old the server's `now` is.
  state.offset = body.now + (Date.now() - sent) / 2 - Date.now()
  state.sale = body
  el.name.textContent = body.product.name
  el.description.textContent = body.product.description
  el.price.textContent = money(body.product.priceCents, body.product.currency)
  el.stockLeft.textContent = String(body.stockLeft)
  el.stockTotal.textContent = String(body.stockTotal)
  el.cooldown.textContent = String(Math.ceil(body.cooldownMs / 1000))
  el.stockBar.style.width = `${body.stockTotal > 0 ? (100 * body.stockLeft) / body.stockTotal : 0}%`
}

async function loadMe() {
  const { status, body } = await api('/api/me')
  if (status !== 200 || !body.user) return
  state.user = body.user
  state.order = body.order ?? undefined
}

function render() {
  const sale = state.sale
  if (!sale) return
  const now = serverNow()
  const phase = buyerPhase(sale, state.order, now)
  const ofSale = salePhase(sale, now)
  el.countdown.textContent =
    ofSale === 'before-start' ? `Sale opens in ${clock(sale.startsAt - now)}` : SALE_LINE[ofSale]
  el.countdown.dataset.phase = ofSale
  el.countdown.dataset.started = String(ofSale !== 'before-start')

  el.who.textContent = state.user ? `signed in as ${state.user} · spot reserved` : 'not signed in'
  el.reserve.hidden = Boolean(state.user)

  const coolLeft = state.coolUntil - Date.now()
  const live = phase === 'live'
  el.buy.disabled = !live || coolLeft > 0 || state.busy
  el.buy.textContent = live && coolLeft > 0 ? `Wait ${Math.ceil(coolLeft / 1000)} s` : BUTTON[phase]
  el.buy.dataset.phase = phase

  // A message belongs to the phase it was said in: "come back when the countdown ends" is
  // taken down when it ends, "sold out" when an item comes back.
  if (state.notice && state.notice.phase !== phase) state.notice = undefined
  const notice = state.notice
  el.result.textContent = notice ? (typeof notice.text === 'function' ? notice.text() : notice.text) : ''
  el.result.className = `result ${notice?.tone ?? ''}`

  const order = state.order
  el.order.hidden = !order
  if (order) {
    el.orderId.textContent = order.id
    const payLeft = order.payBy - now
    const expired = order.status === 'pending' && payLeft <= 0
    el.orderStatus.textContent = expired ? 'closed' : order.status
    el.pay.hidden = order.status !== 'pending' || expired
    el.payLeft.textContent =
      order.status === 'paid'
        ? 'Paid. Thank you! Loyalty points are on their way.'
        : order.status === 'closed' || expired
          ? 'Not paid in time: the item went back on sale.'
          : `${clock(payLeft)} left to pay ${money(sale.product.priceCents, sale.product.currency)}`
  }
}

el.reserve.addEventListener('submit', async (event) => {
  event.preventDefault()
  const { status, body, headers } = await api('/api/reserve', {
    method: 'POST',
    body: JSON.stringify({ user: el.user.value.trim() }),
  })
  const refusal = readRefusal(status, headers, body)
  if (status === 200) {
    state.user = body.user
    await loadMe()
    const first = body.reserved ? 'Your spot is reserved.' : 'Welcome back.'
    say(`${first} ${AFTER_SIGN_IN[phaseNow()] ?? ''}`.trim(), 'ok')
  } else if (refusal) {
    sayRefused(refusal)
  } else {
    say(body.detail ?? 'Could not reserve', 'bad')
  }
})

el.buy.addEventListener('click', async () => {
  if (!state.user) {
    say('Reserve your spot first (enter your name above).', 'warn')
    return
  }
  // One request per 10 s per page, whatever the answer.
  state.coolUntil = Date.now() + (state.sale?.cooldownMs ?? 10_000)
  state.busy = true
  render()
  try {
    const { status, body, headers } = await api('/api/seckill/purchase', {
      method: 'POST',
      headers: { 'idempotency-key': purchaseKey() },
    })
    if (body.order) {
      state.order = body.order
      if (body.order.status === 'closed') sessionStorage.removeItem(`fs-key:${state.user}`)
    }
    // The stock as it is now, before saying anything: the message is said in the phase it is
    // true in (a "sold out" answer is sold out for now, or the end of the sale).
    await loadSale(true).catch(() => {})
    const refusal = readRefusal(status, headers, body)
    if (body.order?.status === 'closed') {
      say(`Order ${body.order.id} was not paid in time and has been closed. Try again for a new one.`, 'warn')
    } else if (status === 201 || (status === 200 && body.outcome === 'replayed')) {
      say(`Success! Order ${body.order.id} is yours — pay to complete it.`, 'ok')
    } else if (status === 409 && body.outcome === 'sold-out') {
      say(
        phaseNow() === 'ended'
          ? 'Sold out: the sale has ended.'
          : 'Sold out. Unpaid orders return to stock: this page lights up again if one does.',
        'bad',
      )
    } else if (status === 409 && body.outcome === 'already-ordered') {
      say(`You already have order ${body.order.id}.`, 'warn')
    } else if (refusal) {
      sayRefused(refusal)
    } else if (status === 403) {
      say('Reserve your spot first.', 'warn')
    } else if (status === 409 && body.outcome === 'not-started') {
      say('The sale has not started yet.', 'warn')
    } else {
      say(body.detail ?? `Something went wrong (${status}); try again.`, 'bad')
    }
  } catch {
    say('Network error; try again (your retry is safe: it cannot buy twice).', 'bad')
  } finally {
    state.busy = false
    render()
  }
})

el.pay.addEventListener('click', async () => {
  const order = state.order
  if (!order) return
  el.pay.disabled = true
  try {
    const { status, body, headers } = await api(`/api/orders/${encodeURIComponent(order.id)}/pay`, {
      method: 'POST',
    })
    if (body.order) state.order = body.order
    await loadSale(true).catch(() => {})
    const refusal = readRefusal(status, headers, body)
    if (status === 200) say(`Paid! Order ${body.order.id} is complete.`, 'ok')
    else if (refusal) sayRefused(refusal)
    else if (status === 409) say('Too late: the payment window closed and the item went back on sale.', 'bad')
    else say(body.detail ?? `Payment failed (${status}).`, 'bad')
  } catch {
    say('Network error; try paying again (it cannot charge twice).', 'bad')
  } finally {
    el.pay.disabled = false
    render()
  }
})

await loadSale()
await loadMe()
render()
setInterval(render, 250)
setInterval(() => void loadSale().then(render), 2000)
