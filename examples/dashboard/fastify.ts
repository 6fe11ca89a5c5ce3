import { createLimiter } from 'diana-limiter'
import { dashboard } from 'diana-limiter/dashboard'
import Fastify from 'fastify'

const limiter = createLimiter({
  rules: [{ name: 'per-ip', dimension: 'ip', algorithm: 'sliding-window', limit: 100, window: '1m' }],
})
const ops = dashboard(limiter, { token: process.env.DIANA_DASHBOARD_TOKEN, basePath: '/ops' })
const app = Fastify()
// In onRequest, before Fastify reads the body: the dashboard answers on the raw objects.
app.addHook('onRequest', (request, reply, done) => {
  const path = request.raw.url ?? ''
  if (path !== '/ops' && !path.startsWith('/ops/')) return done()
  reply.hijack()
  ops(request.raw, reply.raw)
})
app.get('/', async () => 'hello')

const url = await app.listen({ port: Number(process.env.PORT ?? 3000), host: '127.0.0.1' })
console.log(`listening on ${url}`)
