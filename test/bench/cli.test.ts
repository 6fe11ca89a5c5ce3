import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { importOptional, MissingModuleError } from '../../bench/optional-module'
import { main } from '../../src/cli/main'

const root = fileURLToPath(new URL('../..', import.meta.url))

// The CLI straight from source (no build needed), in its own process: exit codes, stdout and
// stderr are exactly what a user of `diana bench` sees.
const ENTRY = "import { main } from './src/cli/main.ts'; process.exitCode = await main(process.argv.slice(1))"

function diana(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', ENTRY, ...args],
      { cwd: root, timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : error ? -1 : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

/** In this process, for the quick cases: `main` with stdout and stderr captured. */
async function dianaHere(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  try {
    const code = await main(args)
    return { code, stdout, stderr }
  } finally {
    vi.restoreAllMocks()
  }
}

const CONTRACT_FIELDS = ['algorithm', 'store', 'keys', 'concurrency', 'opsPerSec', 'p50Us', 'p99Us']

function jsonLines(stdout: string): Record<string, unknown>[] {
  const lines = stdout.split('\n').filter((line) => line.trim() !== '')
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>)
}

describe('diana bench: argument errors exit 2 with the usage', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('as a process: exit status 2, usage on stderr', async () => {
    const { code, stdout, stderr } = await diana('bench', '--bogus')
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toMatch(/--bogus/)
    expect(stderr).toContain('usage:')
  })

  it.each([
    [['--bogus'], /--bogus/],
    [['--keys', 'abc'], /--keys must be a whole number/],
    [['--keys', '0'], /--keys must be a whole number/],
    [['--concurrency', '1.5'], /--concurrency must be a whole number/],
    [['--duration', 'soon'], /--duration must be a number of seconds/],
    [['--duration'], /--duration/],
    [['--algorithm', 'token-buckt'], /unknown algorithm "token-buckt"; did you mean "token-bucket"\?/],
    [['--store', 'mongo'], /--store must be one of memory, redis/],
    [['--redis-url', 'redis://127.0.0.1:1'], /--redis-url needs --store redis/],
    [['http', '--framework', 'hapi'], /--framework must be one of express, fastify, koa/],
    [['http', '--rules', '2'], /--rules does not apply/],
    [['extra'], /unexpected argument "extra"/],
  ])('diana bench %j', async (args, message) => {
    const { code, stdout, stderr } = await dianaHere('bench', ...args)
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toMatch(message)
    expect(stderr).toContain('usage:')
    expect(stderr).toContain('diana bench [--algorithm A]')
    expect(stderr).not.toMatch(/^\s+at /m)
  })

  it('--help prints the usage on stdout and exits 0', async () => {
    const { code, stdout } = await dianaHere('bench', '--help')
    expect(code).toBe(0)
    expect(stdout).toContain('--concurrency N')
  })
})

describe('diana bench: a short scenario', () => {
  it('--json prints one well-formed object per scenario with the contract fields', async () => {
    const { code, stdout, stderr } = await diana(
      'bench',
      '--duration',
      '1',
      '--json',
      '--algorithm',
      'fixed-window',
      '--keys',
      '100',
    )
    expect(stderr).not.toMatch(/^\s+at /m)
    expect(code).toBe(0)
    const lines = jsonLines(stdout)
    expect(lines).toHaveLength(1)
    const [line] = lines as [Record<string, unknown>]
    for (const field of CONTRACT_FIELDS) expect(line).toHaveProperty(field)
    expect(line).toMatchObject({ algorithm: 'fixed-window', store: 'memory', keys: 100, concurrency: 16 })
    expect(line.ratioVsPeer).toBeUndefined()
    for (const field of ['opsPerSec', 'p50Us', 'p99Us']) {
      expect(typeof line[field]).toBe('number')
      expect(line[field] as number).toBeGreaterThan(0)
    }
    expect(line.p99Us as number).toBeGreaterThanOrEqual(line.p50Us as number)
    // The environment goes to stderr, so stdout stays pure JSON lines.
    expect(stderr).toMatch(/Node v\d+/)
  })

  it('without --algorithm runs all four, and --compare adds the ratio against rate-limiter-flexible', async () => {
    const { code, stdout } = await diana(
      'bench',
      '--duration',
      '0.2',
      '--samples',
      '1',
      '--keys',
      '10',
      '--concurrency',
      '2',
      '--rules',
      '2',
      '--compare',
      '--json',
    )
    expect(code).toBe(0)
    const lines = jsonLines(stdout)
    expect(lines.map((line) => line.algorithm)).toEqual([
      'fixed-window',
      'sliding-window',
      'token-bucket',
      'leaky-bucket',
    ])
    for (const line of lines) {
      expect(line).toMatchObject({ keys: 10, concurrency: 2, rules: 2, peer: 'rate-limiter-flexible' })
      expect(line.ratioVsPeer as number).toBeGreaterThan(0)
      // The ratio is the two medians divided, as printed.
      expect(line.ratioVsPeer as number).toBeCloseTo(
        (line.opsPerSec as number) / (line.peerOpsPerSec as number),
        1,
      )
    }
  })

  describe('human output', () => {
    let dir: string
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'diana-bench-'))
    })
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('prints the environment and an aligned table, and --out writes it as Markdown', async () => {
      const out = join(dir, 'bench.md')
      const { code, stdout } = await diana(
        'bench',
        '--duration',
        '0.2',
        '--samples',
        '1',
        '--algorithm',
        'token-bucket',
        '--out',
        out,
      )
      expect(code).toBe(0)
      expect(stdout).toMatch(/Node v\d+.*diana-limiter \d+\.\d+\.\d+/)
      const table = stdout.split('\n').filter((line) => /^(algorithm|token-bucket)\b/.test(line))
      expect(table).toHaveLength(2)
      // Aligned: the row is as wide as the header, column for column.
      expect((table[1] as string).length).toBe((table[0] as string).length)
      const markdown = await readFile(out, 'utf8')
      expect(markdown).toContain('diana bench --duration 0.2 --samples 1 --algorithm token-bucket --out')
      expect(markdown).toMatch(/^\| algorithm \| store \| keys \|/m)
      expect(markdown).toMatch(/^\| token-bucket \| memory \| 10,000 \|/m)
    })
  })
})

describe('diana bench: what is not there says so', () => {
  it('--store redis without a reachable Redis (or before the Redis store exists) is one clear line', async () => {
    // Port 1 on loopback: nothing listens there, so nothing shared is touched.
    const { code, stderr, stdout } = await diana(
      'bench',
      '--store',
      'redis',
      '--redis-url',
      'redis://127.0.0.1:1',
      '--duration',
      '0.2',
      '--samples',
      '1',
      '--algorithm',
      'fixed-window',
      '--json',
    )
    expect([1, 2]).toContain(code)
    expect(stdout).toBe('')
    expect(stderr).toMatch(
      /the Redis store is not available yet|could not reach Redis at redis:\/\/127\.0\.0\.1:1/,
    )
    expect(stderr).not.toMatch(/^\s+at /m)
  })

  it('a missing peer package is named with the command that installs it', async () => {
    const name = 'diana-bench-no-such-package'
    const error = await importOptional(name, '--compare').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MissingModuleError)
    expect((error as Error).message).toContain(`"${name}"`)
    expect((error as Error).message).toContain(`npm install --no-save ${name}`)
  })
})
