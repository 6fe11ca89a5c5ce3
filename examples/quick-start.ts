import { createLimiter } from 'diana-limiter'

const limiter = createLimiter({
  rules: [{ name: 'per-account', dimension: 'account', algorithm: 'sliding-window', limit: 3, window: '1m' }],
})
for (let i = 1; i <= 4; i++) {
  const d = await limiter.check({ account: 'alice' })
  console.log(`request ${i}:`, d.allowed ? `allowed, ${d.remaining} left` : `retry in ${d.retryAfterMs} ms`)
}
await limiter.close()
