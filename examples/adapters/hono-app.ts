import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { diana } from 'diana-limiter/hono'
import { Hono } from 'hono'

// Stand-in for real authentication (a session, a verified JWT): the account must come from
// something the server has checked, never from a header the client could set to anything.
const accounts = new Map([['token-alice', 'alice']])

const app = new Hono<{ Variables: { account: string | undefined } }>()
app.use(async (c, next) => {
  c.set('account', accounts.get((c.req.header('authorization') ?? '').replace(/^Bearer /, '')))
  await next()
})

// App-wide: Hono has matched the route before any middleware runs, so the limiter sees the
// route pattern (/api/items/:id) and all items share one `resource` quota.
app.use(
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
    // The client address, from the runtime: hono/bun or hono/deno's getConnInfo on Bun or Deno.
    // Behind a reverse proxy, add `trustProxy: 1` (X-Forwarded-For is ignored otherwise, so
    // clients cannot pick their own address).
    connInfo: getConnInfo,
    identify: (c) => c.get('account'),
    skip: (c) => c.req.path === '/health',
  }),
)
app.get('/health', (c) => c.text('ok'))
app.get('/api/items/:id', (c) => c.json({ id: c.req.param('id'), remaining: c.get('rateLimit')?.remaining }))
app.post('/api/seckill/:sku', (c) => c.json({ sku: c.req.param('sku'), bought: true }))

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`)
})
