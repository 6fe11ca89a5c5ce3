/**
 * `diana bench lease`: its command line, the arithmetic of its report, and a tiny run as a user
 * runs it (the built CLI, bin/diana.js) against a real redis-server of the test's own. The
 * machine is shared, so no figure of speed is asserted: only the report's shape, and that the
 * exact mode never admits more than the limit in any whole window.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_LEASE_OPTIONS, parseLeaseArgs } from '../../bench/lease/options'
import { countCalls } from '../../bench/lease/redis-calls'
import { wholeWindowCounts } from '../../bench/lease/run'
import { UsageError } from '../../bench/options'
import { dianaBin, root } from '../cli/diana-bin'
import { describeRedis, type RedisProcess, startRedis } from '../support/redis-server'

function slowDianaBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${root}bin/diana.js`, ...args],
      { cwd: root, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : error ? -1 : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}

describe('diana bench lease: arguments', () => {
  it('defaults to 4 processes × 64 in flight, 20 000 per 1 s, a private Redis, denial cache off', () => {
    expect(parseLeaseArgs([])).toMatchObject({
      processes: 4,
      concurrency: 64,
      limit: 20_000,
      windowMs: 1000,
      durationS: DEFAULT_LEASE_OPTIONS.durationS,
      redisUrl: undefined,
      denialCache: false,
      commandTimeoutMs: undefined,
      variants: ['exact', 'leased', '4-rules-exact', '4-rules-leased'],
    })
    // At least 5 whole windows fit in a sample by default.
    expect(DEFAULT_LEASE_OPTIONS.durationS * 1000).toBeGreaterThanOrEqual(6 * DEFAULT_LEASE_OPTIONS.windowMs)
  })

  it('reads windows as durations and variants as a list', () => {
    const options = parseLeaseArgs([
      '--window',
      '250ms',
      '--variants',
      'leased,exact,leased',
      '--redis-url',
      'redis://localhost:7000',
      '--denial-cache',
      '--command-timeout',
      '2000',
    ])
    expect(options.windowMs).toBe(250)
    expect(options.variants).toEqual(['leased', 'exact'])
    expect(options.redisUrl).toBe('redis://localhost:7000')
    expect(options.denialCache).toBe(true)
    expect(options.commandTimeoutMs).toBe(2000)
    expect(parseLeaseArgs(['--window', '2000']).windowMs).toBe(2000)
  })

  it.each([
    [['--processes', '17'], /--processes must be a whole number from 1 to 16/],
    [['--processes', '0'], /--processes must be a whole number/],
    [['--concurrency', '2.5'], /--concurrency must be a whole number/],
    [['--duration', '0'], /--duration must be a number of seconds from 0.1 to 600/],
    [['--duration', '601'], /--duration must be/],
    [['--window', '5ms'], /--window must be a duration from 100ms to 60s/],
    [['--window', 'soon'], /--window must be a duration/],
    [['--limit', '0'], /--limit must be a whole number from 1/],
    [['--redis-url', 'redis://10.0.0.5:6379'], /--redis-url must be a loopback address/],
    [['--redis-url', 'http://127.0.0.1:6379'], /--redis-url must start with redis:\/\//],
    [['--redis-url', 'not a url'], /--redis-url must be a redis:\/\/ URL/],
    [['--variants', 'leasd'], /unknown variant "leasd".*did you mean "leased"/],
    [['--command-timeout', '0'], /--command-timeout must be a whole number from 1 to 10,000/],
    [['--out', ' '], /--out needs a file name/],
    [['--compare'], /Unknown option '--compare'/],
    [['now'], /unexpected argument "now"/],
  ])('%j is refused: %s', (args, message) => {
    expect(() => parseLeaseArgs(args)).toThrow(UsageError)
    expect(() => parseLeaseArgs(args)).toThrow(message)
  })

  it('the command exits 2 with the message and the usage on a bad flag', async () => {
    const { code, stderr } = await dianaBin(['bench', 'lease', '--processes', '40'])
    expect(code).toBe(2)
    expect(stderr).toContain('diana bench lease: --processes must be a whole number from 1 to 16 (got "40")')
    expect(stderr).toContain('diana bench lease [--processes N]')
  })

  it('--help shows the lease usage', async () => {
    const { code, stdout } = await dianaBin(['bench', 'lease', '--help'])
    expect(code).toBe(0)
    expect(stdout).toContain('--denial-cache')
  })
})

describe('diana bench lease: arithmetic', () => {
  it('counts whole windows only, an empty one as 0, summed over workers', () => {
    // Run from 1.25 s to 5.5 s with 1 s windows: whole windows are 2, 3 and 4.
    const counts = wholeWindowCounts(
      [
        {
          windows: [
            [1, 500],
            [2, 10],
            [4, 7],
            [5, 900],
          ],
        },
        { windows: [[2, 5]] },
      ],
      1250,
      5500,
      1000,
    )
    expect(counts).toEqual([15, 0, 7])
  })

  it('sums every command of INFO commandstats but INFO, and script calls apart', () => {
    const info = [
      '# Commandstats',
      'cmdstat_evalsha:calls=10,usec=5,usec_per_call=0.5,rejected_calls=0,failed_calls=0',
      'cmdstat_eval:calls=2,usec=5,usec_per_call=2.5,rejected_calls=0,failed_calls=0',
      'cmdstat_set:calls=300,usec=5,usec_per_call=0.01,rejected_calls=0,failed_calls=0',
      'cmdstat_info:calls=40,usec=5,usec_per_call=0.1,rejected_calls=0,failed_calls=0',
    ].join('\r\n')
    expect(countCalls(info)).toEqual({ all: 312, scripts: 12 })
  })
})

describeRedis('diana bench lease: a short run on a real redis-server', () => {
  let redis: RedisProcess
  let dir: string
  beforeAll(async () => {
    redis = await startRedis()
    dir = await mkdtemp(join(tmpdir(), 'diana-lease-bench-'))
  })
  afterAll(async () => {
    await redis?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('--json: a line per variant and the ratios; exact mode never admits more than the limit in a window', async () => {
    const out = join(dir, 'lease.md')
    // 300 per 200 ms is 1 500/s: far below what 2 × 8 checks in flight ask of one Redis.
    const args = ['--processes', '2', '--concurrency', '8', '--duration', '1.3', '--samples', '1']
    const { code, stdout, stderr } = await slowDianaBin([
      'bench',
      'lease',
      ...args,
      '--window',
      '200ms',
      '--limit',
      '300',
      '--variants',
      'exact,4-rules-exact,leased',
      '--redis-url',
      redis.url,
      '--json',
      '--out',
      out,
    ])
    expect(stderr).not.toMatch(/^\s+at /m)
    expect(code).toBe(0)
    const lines = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines.map((l) => l.variant ?? l.scenario)).toEqual([
      'exact',
      '4-rules-exact',
      'leased',
      'lease-ratios',
    ])
    for (const line of lines.slice(0, 2)) {
      expect(line).toMatchObject({
        scenario: 'lease',
        leased: false,
        processes: 2,
        concurrency: 8,
        limit: 300,
        windowMs: 200,
        samples: 1,
        unbucketed: 0,
      })
      expect(line.decisionsPerSec as number).toBeGreaterThan(0)
      expect(line.p50Us as number).toBeGreaterThan(0)
      expect(line.p99Us as number).toBeGreaterThanOrEqual(line.p50Us as number)
      // Every exact check is a script call (batched), so Redis ran commands for them.
      expect(line.commandsPerDecision as number).toBeGreaterThan(0)
      expect(line.scriptsPerDecision as number).toBeGreaterThan(0)
      expect(line.wholeWindows as number).toBeGreaterThanOrEqual(4)
      expect(line.admittedMin as number).toBeGreaterThan(0)
      expect(line.admittedMax as number).toBeLessThanOrEqual(1)
    }
    expect(lines[1]?.rules).toBe(4)
    const leased = lines[2] as Record<string, unknown>
    expect(leased).toMatchObject({ scenario: 'lease', variant: 'leased', leased: true, rules: 1 })
    if (typeof leased.unavailable === 'string') {
      // A build without leases rejects the rule; the run goes on and says so.
      expect(leased.unavailable).toMatch(/lease/)
    } else {
      // Leases never admit more than the shared quota either.
      expect(leased.admittedMax as number).toBeLessThanOrEqual(1)
    }
    expect((lines[3] as Record<string, unknown>).fourExactOverOneExact as number).toBeGreaterThan(0)
    const markdown = await readFile(out, 'utf8')
    expect(markdown).toContain(`diana bench lease ${args.join(' ')}`)
    expect(markdown).toContain('| variant | decisions/s |')
    expect(markdown).toContain('| 1 rule (global), exact |')
  }, 120_000)
})
