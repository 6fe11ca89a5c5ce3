import { createLimiter } from 'diana-limiter'

const limiter = createLimiter({
  rules: [
    { name: 'per-account', dimension: 'account', algorithm: 'sliding-window', limit: 3, window: '1m' },
    {
      name: 'everyone',
      dimension: 'global',
      algorithm: 'token-bucket',
      limit: 100,
      window: '1s',
      burst: 200,
    },
  ],
})
for (let i = 1; i <= 4; i++) {
  const d = await limiter.check({ account: 'alice' })
  console.log(
    `request ${i}: ${d.allowed ? 'allowed' : `denied, retry in ${d.retryAfterMs} ms`} (${d.rule} ${d.remaining}/${d.limit})`,
  )
}
await limiter.close()
