import { createLimiter } from 'diana-limiter'
import { dashboard } from 'diana-limiter/dashboard'
import { diana } from 'diana-limiter/express'
import express from 'express'

const limiter = createLimiter({
  rules: [{ name: 'per-ip', dimension: 'ip', algorithm: 'sliding-window', limit: 100, window: '1m' }],
})
const app = express()
// Mounted before the limiter, so watching it costs no quota. Express strips '/ops' and sets
// req.originalUrl; the page's links follow.
app.use('/ops', dashboard(limiter, { token: process.env.DIANA_DASHBOARD_TOKEN }))
app.use(diana({ limiter }))
app.get('/', (_req, res) => {
  res.send('hello')
})

const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  const { port } = server.address() as import('node:net').AddressInfo
  console.log(`listening on http://127.0.0.1:${port}`)
})
