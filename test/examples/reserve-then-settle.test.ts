import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

describe('docs/limiter-api.md: reserve, then settle', () => {
  it('shows examples/reserve-then-settle.ts verbatim', async () => {
    const [doc, example] = await Promise.all([
      readFile('docs/limiter-api.md', 'utf8'),
      readFile('examples/reserve-then-settle.ts', 'utf8'),
    ])
    expect(doc).toContain(example.trim())
  })

  it('runs: each call is charged its estimate and refunded the difference', async () => {
    // `diana-limiter` resolves to this package's own build (dist/), as a user's import would.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/reserve-then-settle.ts'])
    expect(stdout.trim().split('\n')).toEqual([
      'alice: (250 tokens of answer)',
      'alice: (390 tokens of answer)',
      'alice: (290 tokens of answer)',
      'alice: 99070 of 100000 tokens left today',
    ])
  })
})
