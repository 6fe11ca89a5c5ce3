import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)

describe('README quick start', () => {
  it.each(['examples/quick-start.ts', 'examples/quick-start.cjs', 'examples/express-quick-start.ts'])(
    'shows %s verbatim (examples/ are type-checked and run)',
    async (file) => {
      const [readme, example] = await Promise.all([readFile('README.md', 'utf8'), readFile(file, 'utf8')])
      expect(readme).toContain(example.trim())
    },
  )

  it('runs from CommonJS too', async () => {
    const { stdout } = await run(process.execPath, ['examples/quick-start.cjs'])
    expect(stdout.trim()).toBe('allowed, 2 left')
  })

  it('runs and denies the fourth request of one account', async () => {
    // `diana-limiter` resolves to this package's own build (dist/, made by `npm ci`/`npm run build`),
    // exactly as a user's import would.
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/quick-start.ts'])
    const lines = stdout.trim().split('\n')
    expect(lines).toHaveLength(4)
    expect(lines.slice(0, 3)).toEqual([
      'request 1: allowed, 2 left',
      'request 2: allowed, 1 left',
      'request 3: allowed, 0 left',
    ])
    expect(lines[3]).toMatch(/^request 4: retry in \d+ ms$/)
  })
})
