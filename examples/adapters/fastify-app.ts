import diana from 'diana-limiter/fastify'
import Fastify from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    account?: string
  }
}

// Stand-in for real authentication (a session, a verified JWT): the account must come from
// something the server has checked, never from a header the client could set to anything.
const accounts = new Map([['token-alice', 'alice']])

// Behind a reverse proxy, set `trustProxy` so request.ip is the client, not the proxy
// (X-Forwarded-For is ignored otherwise, so clients cannot pick their own address).
const app = Fastify({ trustProxy: false })

// Runs before the limiter: hooks run in the order they are added.
app.addHook('onRequest', async (request) => {
  request.account = accounts.get(request.headers.authorization?.replace(/^Bearer /, '') ?? '')
})
await app.register(diana, {
  rules: [
    { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 20, window: '10s' },
    { name: 'account', dimension: 'account', algorithm: 'sliding-window', limit: 100, window: '1m' },
  ],
  identify: (request) => request.account,
})

app.get('/health', { config: { diana: false } }, async () => 'ok')
app.get('/api/items/:id', async (request) => ({ id: (request.params as { id: string }).id }))
// This route has its own limiter: a queue that lets 10 buys a second through, 5 waiting.
app.post(
  '/api/seckill/:sku',
  {
    config: {
      diana: {
        rules: [
          {
            name: 'seckill',
            dimension: 'resource',
            algorithm: 'leaky-bucket',
            limit: 10,
            window: '1s',
            burst: 5,
          },
        ],
      },
    },
  },
  async (request) => ({ sku: (request.params as { sku: string }).sku, bought: true }),
)

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(`listening on ${url}`)
