/**
 * `diana bench serve`: its command line, how it judges the targets, and a tiny run as a user
 * runs it (the built CLI, bin/diana.js: a real `diana serve` child, real gRPC clients, a real
 * redis-server of the test's own). The machine is shared, so no figure of speed is asserted:
 * only the report's shape, and that Redis was asked per call.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UsageError } from '../../bench/options'
import { DEFAULT_SERVE_OPTIONS, parseServeArgs } from '../../bench/serve/options'
import { type StoreResult, targetsMet } from '../../bench/serve/report'
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

describe('diana bench serve: arguments', () => {
  it('defaults to both stores, 2 clients sharing 64 calls in flight, a private Redis', () => {
    expect(parseServeArgs([])).toMatchObject({
      stores: ['memory', 'redis'],
      clients: 2,
      concurrency: 64,
      durationS: DEFAULT_SERVE_OPTIONS.durationS,
      samples: DEFAULT_SERVE_OPTIONS.samples,
      redisUrl: undefined,
      json: false,
    })
    expect(parseServeArgs(['--store', 'redis', '--redis-url', 'redis://127.0.0.1:7000'])).toMatchObject({
      stores: ['redis'],
      redisUrl: 'redis://127.0.0.1:7000',
    })
  })

  it.each([
    [['--store', 'postgres'], /--store must be memory or redis \(got "postgres"\)/],
    [['--store', 'redsi'], /did you mean "redis"/],
    [['--clients', '17'], /--clients must be a whole number from 1 to 16/],
    [['--clients', '0'], /--clients must be a whole number/],
    [['--concurrency', '2.5'], /--concurrency must be a whole number/],
    [['--clients', '4', '--concurrency', '3'], /give at least one per client \(4\)/],
    [['--duration', '0'], /--duration must be a number of seconds from 0.1 to 600/],
    [['--samples', '0'], /--samples must be a whole number/],
    [['--redis-url', 'redis://10.0.0.5:6379'], /--redis-url must be a loopback address/],
    [['--redis-url', 'http://127.0.0.1:6379'], /--redis-url must start with redis:\/\//],
    [['--store', 'memory', '--redis-url', 'redis://127.0.0.1:6379'], /--redis-url is for --store redis/],
    [['--out', ' '], /--out needs a file name/],
    [['--compare'], /Unknown option '--compare'/],
    [['now'], /unexpected argument "now"/],
  ])('%j is refused: %s', (args, message) => {
    expect(() => parseServeArgs(args)).toThrow(UsageError)
    expect(() => parseServeArgs(args)).toThrow(message)
  })

  it('the command exits 2 with the message and the usage on a bad flag', async () => {
    const { code, stderr } = await dianaBin(['bench', 'serve', '--clients', '40'])
    expect(code).toBe(2)
    expect(stderr).toContain('diana bench serve: --clients must be a whole number from 1 to 16 (got "40")')
    expect(stderr).toContain('diana bench serve [--store memory|redis]')
  })

  it('--help shows the serve usage', async () => {
    const { code, stdout } = await dianaBin(['bench', 'serve', '--help'])
    expect(code).toBe(0)
    expect(stdout).toContain('calls in flight in all, split evenly over the clients')
  })
})

describe('diana bench serve: the targets', () => {
  const result = (callsPerSec: number, p99Ms: number) =>
    ({ callsPerSec: { median: callsPerSec, min: 0, max: 0 }, p99Ms }) as StoreResult

  it('are met at 20 000 calls/s and 5 ms, not just below or above', () => {
    expect(targetsMet(result(20_000, 5))).toEqual({ rate: true, p99: true })
    expect(targetsMet(result(19_999, 5.01))).toEqual({ rate: false, p99: false })
    // A run that measured nothing has met nothing.
    expect(targetsMet(result(Number.NaN, Number.NaN))).toEqual({ rate: false, p99: false })
  })
})

describeRedis('diana bench serve: a short run of diana serve on a real redis-server', () => {
  let redis: RedisProcess
  let dir: string
  beforeAll(async () => {
    redis = await startRedis()
    dir = await mkdtemp(join(tmpdir(), 'diana-serve-bench-'))
  })
  afterAll(async () => {
    await redis?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  it('--json: a line for the floor and each store; every call answered, Redis asked per call', async () => {
    const out = join(dir, 'serve.md')
    const { code, stdout, stderr } = await slowDianaBin([
      'bench',
      'serve',
      ...['--clients', '1', '--concurrency', '4', '--duration', '1', '--samples', '1'],
      ...['--redis-url', redis.url, '--json', '--out', out],
    ])
    expect(stderr).not.toMatch(/^\s+at /m)
    expect(code).toBe(0)
    const lines = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines.map((l) => l.store)).toEqual(['floor', 'memory', 'redis'])
    for (const line of lines) {
      expect(line.calls as number).toBeGreaterThan(0)
      expect(line.errors).toBe(0)
      expect(line.p99Ms as number).toBeGreaterThanOrEqual(line.p50Ms as number)
      expect(line.serverCpuUsPerCall as number).toBeGreaterThan(0)
      expect(line.targets).toMatchObject({ callsPerSec: 20_000, p99Ms: 5 })
      // The workload's limits are far above what 4 calls in flight ask for.
      expect(line.overLimitShare).toBe(0)
    }
    const [, memory, onRedis] = lines as [unknown, Record<string, unknown>, Record<string, unknown>]
    expect(memory.redisScriptsPerCall).toBeNull()
    expect(memory.redisCpuUsPerCall).toBeNull()
    // Redis's own CPU (INFO cpu) over the samples, per call.
    expect(onRedis.redisCpuUsPerCall as number).toBeGreaterThan(0)
    // One limiter.check per call: one script call each (all rules at once), and what it runs.
    expect(onRedis.redisScriptsPerCall as number).toBeGreaterThanOrEqual(1)
    expect(onRedis.redisScriptsPerCall as number).toBeLessThan(1.1)
    expect(onRedis.redisCommandsPerCall as number).toBeGreaterThan(onRedis.redisScriptsPerCall as number)
    const markdown = await readFile(out, 'utf8')
    expect(markdown).toContain('diana bench serve --clients 1 --concurrency 4')
    expect(markdown).toMatch(/\| floor \(gRPC alone\) \|/)
    expect(markdown).toMatch(
      /^redis: .* calls\/s \(target ≥ 20,000: (met|NOT met)\), p99 .* ms \(target ≤ 5 ms: (met|NOT met)\)$/m,
    )
  }, 120_000)
})
