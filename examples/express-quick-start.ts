import { diana } from 'diana-limiter/express'
import express from 'express'

const app = express()
app.use(
  diana({
    rules: [{ name: 'per-client', dimension: 'device', algorithm: 'token-bucket', limit: 100, window: '1m' }],
    identify: (req) => req.get('x-account'), // in a real app: the authenticated user's id
  }),
)
app.get('/', (_req, res) => {
  res.send('hello')
})
app.listen(3000)
