import { createLimiter } from 'diana-limiter'

// A daily LLM token budget per account.
const limiter = createLimiter({
  rules: [
    { name: 'llm-tokens', dimension: 'account', algorithm: 'fixed-window', limit: 100_000, window: '1d' },
  ],
})

// Stands in for the model: the real token count is known only once it has answered.
async function callModel(prompt: string, maxTokens: number): Promise<{ text: string; tokens: number }> {
  const tokens = Math.min(maxTokens, 200 + prompt.length * 10)
  return { text: `(${tokens} tokens of answer)`, tokens }
}

async function complete(account: string, prompt: string, maxTokens = 40_000): Promise<string> {
  // Reserve: charge the most this call can cost before making it.
  const d = await limiter.check({ account }, { cost: maxTokens })
  if (!d.allowed) return `${account}: over budget, retry in ${Math.ceil(d.retryAfterMs / 1000)} s`
  let used = 0 // a call that fails costs nothing
  try {
    const answer = await callModel(prompt, maxTokens)
    used = answer.tokens
    return `${account}: ${answer.text}`
  } finally {
    // Settle: give back what the call did not use.
    await limiter.refund({ account }, { cost: maxTokens - used })
  }
}

for (const prompt of ['hello', 'summarise this page', 'translate']) {
  console.log(await complete('alice', prompt))
}
// Three reservations of 40,000 would not fit in 100,000; settled, they used 930.
const left = await limiter.peek({ account: 'alice' }, { cost: 0 })
console.log(`alice: ${left.remaining} of ${left.limit} tokens left today`)
await limiter.close()
