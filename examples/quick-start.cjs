const { createLimiter } = require('diana-limiter')

async function main() {
  const limiter = createLimiter({
    rules: [
      { name: 'per-account', dimension: 'account', algorithm: 'sliding-window', limit: 3, window: '1m' },
    ],
  })
  const d = await limiter.check({ account: 'alice' })
  console.log(d.allowed ? `allowed, ${d.remaining} left` : `retry in ${d.retryAfterMs} ms`)
  await limiter.close()
}
main()
