import { createLimiter } from 'diana-limiter'
import { dashboard } from 'diana-limiter/dashboard'
import Koa from 'koa'

const limiter = createLimiter({
  rules: [{ name: 'per-ip', dimension: 'ip', algorithm: 'sliding-window', limit: 100, window: '1m' }],
})
const ops = dashboard(limiter, { token: process.env.DIANA_DASHBOARD_TOKEN, basePath: '/ops' })
const app = new Koa()
app.use(async (ctx, next) => {
  if (ctx.path !== '/ops' && !ctx.path.startsWith('/ops/')) return next()
  // The dashboard writes the answer itself.
  ctx.respond = false
  ops(ctx.req, ctx.res)
})
app.use((ctx) => {
  ctx.body = 'hello'
})

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as import('node:net').AddressInfo
  console.log(`listening on http://127.0.0.1:${port}`)
})
