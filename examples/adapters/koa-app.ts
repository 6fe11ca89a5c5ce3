import Router from '@koa/router'
import { diana } from 'diana-limiter/koa'
import Koa from 'koa'

// Stand-in for real authentication (a session, a verified JWT): the account must come from
// something the server has checked, never from a header the client could set to anything.
const accounts = new Map([['token-alice', 'alice']])

// Behind a reverse proxy, set `proxy: true` so ctx.ip is the client, not the proxy
// (X-Forwarded-For is ignored otherwise, so clients cannot pick their own address).
const app = new Koa({ proxy: false })
app.use(async (ctx, next) => {
  ctx.state.account = accounts.get(ctx.get('authorization').replace(/^Bearer /, ''))
  await next()
})

const router = new Router()
// Inside the router, the limiter sees the matched route pattern (/api/items/:id), so all
// items share one `resource` quota; app-wide (app.use) it would see each path.
router.use(
  diana({
    rules: [
      { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 20, window: '10s' },
      { name: 'account', dimension: 'account', algorithm: 'sliding-window', limit: 100, window: '1m' },
      {
        name: 'seckill',
        dimension: 'resource',
        match: { path: '/api/seckill/**', methods: ['POST'] },
        algorithm: 'leaky-bucket',
        limit: 10,
        window: '1s',
        burst: 5,
      },
    ],
    identify: (ctx) => ctx.state.account,
    skip: (ctx) => ctx.path === '/health',
  }),
)
router.get('/health', (ctx) => {
  ctx.body = 'ok'
})
router.get('/api/items/:id', (ctx) => {
  ctx.body = { id: ctx.params.id }
})
router.post('/api/seckill/:sku', (ctx) => {
  ctx.body = { sku: ctx.params.sku, bought: true }
})
app.use(router.routes())

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address()
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`)
})
