import { diana } from 'diana-limiter/express'
import { dianaMetrics } from 'diana-limiter/metrics'
import express, { type NextFunction, type Request, type Response } from 'express'
import { register } from 'prom-client'

declare global {
  namespace Express {
    interface Request {
      account?: string
    }
  }
}

// Stand-in for real authentication (a session, a verified JWT): the account must come from
// something the server has checked, never from a header the client could set to anything.
const accounts = new Map([['token-alice', 'alice']])
function authenticate(req: Request, _res: Response, next: NextFunction) {
  req.account = accounts.get(req.get('authorization')?.replace(/^Bearer /, '') ?? '')
  next()
}

const app = express()
// Behind a reverse proxy, let Express read the client address from it (X-Forwarded-For is
// ignored otherwise, so clients cannot pick their own address):
// app.set('trust proxy', 1)

const limit = diana({
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
  identify: (req) => req.account,
  skip: (req) => req.path === '/health' || req.path === '/metrics',
})
dianaMetrics(limit.limiter)

app.use(authenticate, limit)
app.get('/health', (_req, res) => {
  res.send('ok')
})
app.get('/metrics', async (_req, res) => {
  res.type(register.contentType).send(await register.metrics())
})
app.get('/api/items/:id', (req, res) => {
  res.json({ id: req.params.id })
})
app.post('/api/seckill/:sku', (req, res) => {
  res.json({ sku: req.params.sku, bought: true })
})

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address()
  console.log(`listening on http://127.0.0.1:${typeof address === 'object' && address ? address.port : ''}`)
})
