import { createServer } from 'node:http'
import { createLimiter } from 'diana-limiter'
import { dashboard } from 'diana-limiter/dashboard'

const limiter = createLimiter({
  rules: [{ name: 'per-ip', dimension: 'ip', algorithm: 'sliding-window', limit: 100, window: '1m' }],
})
const ops = dashboard(limiter, { token: process.env.DIANA_DASHBOARD_TOKEN, basePath: '/ops' })
const server = createServer((req, res) => {
  const path = req.url ?? ''
  if (path === '/ops' || path.startsWith('/ops/')) return ops(req, res)
  res.end('hello')
})

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as import('node:net').AddressInfo
  console.log(`listening on http://127.0.0.1:${port}`)
})
