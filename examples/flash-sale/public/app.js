// The flash-sale page: static, cacheable, no framework. Times come from the server
// (`now` in /api/sale) so a visitor's wrong clock cannot open the sale early.

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
  /** local time until which the buy button stays disabled after a click */
  coolUntil: 0,
  busy: false,
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

function say(text, tone) {
  el.result.textContent = text
  el.result.className = `result ${tone ?? ''}`
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
  const untilStart = sale.startsAt - now
  const started = untilStart <= 0
  el.countdown.textContent = started ? 'The sale is open' : `Sale opens in ${clock(untilStart)}`
  el.countdown.dataset.started = String(started)

  el.who.textContent = state.user ? `signed in as ${state.user} · spot reserved` : 'not signed in'
  el.reserve.hidden = Boolean(state.user)

  const coolLeft = state.coolUntil - Date.now()
  el.buy.disabled = !started || coolLeft > 0 || state.busy
  el.buy.textContent = !started
    ? 'Not yet open'
    : coolLeft > 0
      ? `Wait ${Math.ceil(coolLeft / 1000)} s`
      : 'Buy now'

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
  if (status === 200) {
    state.user = body.user
    await loadMe()
    say(body.reserved ? 'Your spot is reserved. Come back when the countdown ends.' : 'Welcome back.', 'ok')
  } else if (status === 429) {
    say(`Too many requests — try again in ${headers.get('retry-after') ?? 'a few'} s`, 'warn')
  } else {
    say(body.detail ?? 'Could not reserve', 'bad')
  }
  render()
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
    if (body.order?.status === 'closed') {
      say(`Order ${body.order.id} was not paid in time and has been closed. Try again for a new one.`, 'warn')
    } else if (status === 201 || (status === 200 && body.outcome === 'replayed')) {
      say(`Success! Order ${body.order.id} is yours — pay to complete it.`, 'ok')
    } else if (status === 409 && body.outcome === 'sold-out') {
      say('Sold out. Unpaid orders return to stock, so check back in a minute.', 'bad')
    } else if (status === 409 && body.outcome === 'already-ordered') {
      say(`You already have order ${body.order.id}.`, 'warn')
    } else if (status === 429) {
      say(`Too many requests — try again in ${headers.get('retry-after') ?? 'a few'} s`, 'warn')
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
    void loadSale(true).then(render)
  }
})

el.pay.addEventListener('click', async () => {
  const order = state.order
  if (!order) return
  el.pay.disabled = true
  try {
    const { status, body } = await api(`/api/orders/${encodeURIComponent(order.id)}/pay`, { method: 'POST' })
    if (body.order) state.order = body.order
    if (status === 200) say(`Paid! Order ${body.order.id} is complete.`, 'ok')
    else if (status === 429) say('Too many requests — try paying again in a moment.', 'warn')
    else if (status === 409) say('Too late: the payment window closed and the item went back on sale.', 'bad')
    else say(body.detail ?? `Payment failed (${status}).`, 'bad')
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
