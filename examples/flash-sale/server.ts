/**
 * `npm run demo`: the flash-sale shop on http://127.0.0.1:3000. In memory unless REDIS_URL is
 * set; see README.md for every variable. The demo sale (DEMO_DEFAULTS) opens 15 s after
 * start-up, has 2 items and gives buyers 60 s to pay. Diana's operations dashboard is at
 * /diana/, read-only, behind DIANA_DASHBOARD_TOKEN (a fresh one per start when not set).
 */
import { randomBytes } from 'node:crypto'
import { type DashboardHandler, dashboard } from 'diana-limiter/dashboard'
import { configFromEnv, DEMO_DEFAULTS, DEMO_SECRET } from './shop-config'
import { startShop } from './start-shop'

const config = configFromEnv(process.env, Date.now(), DEMO_DEFAULTS)
const dashboardToken = process.env.DIANA_DASHBOARD_TOKEN || randomBytes(16).toString('base64url')
let operations: DashboardHandler | undefined
const running = await startShop(config, {
  mounts: (limiter) => {
    operations = dashboard(limiter, { token: dashboardToken })
    return { '/diana': operations }
  },
})
const info = await running.shop.info()
const startsIn = Math.max(0, Math.round((info.startsAt - info.now) / 1000))
console.log(`[flash-sale] ${running.url}  (${config.redisUrl ? `Redis ${config.redisUrl}` : 'in memory'})`)
console.log(
  `[flash-sale] sale ${info.saleId}: ${info.stockLeft}/${info.stockTotal} left, ` +
    `${startsIn > 0 ? `opens in ${startsIn} s` : 'open'}, ${info.paymentWindowMs / 1000} s to pay`,
)

console.log(`[flash-sale] Diana's dashboard: ${running.url}/diana/  token: ${dashboardToken}`)

if (info.startsAt !== config.startsAt || info.stockTotal !== config.stock) {
  console.log(
    `[flash-sale] joined the sale "${info.saleId}" already in Redis; set SALE_ID to start a new one`,
  )
}
if (config.redisUrl && config.secret === DEMO_SECRET) {
  console.warn('[flash-sale] SHOP_SECRET is the demo default: fine on your machine, never on a network')
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(1)
    stopping = true
    operations?.close()
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}
