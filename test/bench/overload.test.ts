/**
 * `diana bench overload` as a user runs it (the built CLI, bin/diana.js), at a tiny scale: a
 * service of 4 slots × 10 ms, steps 1× and 8×. The machine is shared, so the figures asserted
 * are the ones no noise can turn around: a bare service never sheds, and limiters at 8× do.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { main } from '../../src/cli/main'
import { root } from '../cli/diana-bin'

function dianaBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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

const TINY = ['--slots', '4', '--service-time', '10', '--steps', '1,8', '--duration', '0.5']

describe('diana bench overload', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'diana-overload-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('--json: one line per variant and step; bare never sheds, a bucket at capacity and the adaptive rule do at 8×', async () => {
    const svg = join(dir, 'overload.svg')
    const { code, stdout, stderr } = await dianaBin([
      'bench',
      'overload',
      ...TINY,
      '--variants',
      'bare,bucket,adaptive',
      '--json',
      '--svg',
      svg,
    ])
    expect(stderr).not.toMatch(/^\s+at /m)
    expect(code).toBe(0)
    const lines = stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, number | string | null>)
    expect(lines.map((l) => `${l.variant}@${l.offered}`)).toEqual([
      'bare@1',
      'bare@8',
      'bucket@1',
      'bucket@8',
      'adaptive@1',
      'adaptive@8',
    ])
    for (const line of lines) {
      expect(line).toMatchObject({ scenario: 'overload', capacity: 400, errors: 0 })
      expect(line.clients).toBe(2 * (line.offered as number) * 4)
      expect(line.throughput as number).toBeGreaterThan(0)
      expect(line.goodput as number).toBeLessThanOrEqual(line.throughput as number)
      expect(line.goodputShare as number).toBeGreaterThanOrEqual(0)
      expect(line.p99Ms as number).toBeGreaterThan(line.unloadedP50Ms as number)
      expect(line.sloMs).toBeCloseTo(3 * (line.unloadedP50Ms as number), 1)
      expect(line.shedShare as number).toBeLessThan(1)
    }
    const at = (variant: string, offered: number) =>
      lines.find((l) => l.variant === variant && l.offered === offered) as Record<string, number>
    expect(at('bare', 1).shedPerSec).toBe(0)
    expect(at('bare', 8).shedPerSec).toBe(0)
    expect(at('bucket', 8).shedShare).toBeGreaterThan(0)
    expect(at('adaptive', 8).shedShare).toBeGreaterThan(0)
    // The environment goes to stderr, so stdout stays pure JSON lines.
    expect(stderr).toMatch(/unloaded \(one request at a time\): p50/)
    const chart = await readFile(svg, 'utf8')
    expect(chart).toMatch(/^<svg /)
    expect(chart.match(/<polyline /g)).toHaveLength(3)
    for (const label of ['bare', 'token bucket at capacity', 'adaptive'])
      expect(chart).toContain(`>${label}</text>`)
  }, 120_000)

  it('--markdown prints the table with every column', async () => {
    const { code, stdout } = await dianaBin([
      'bench',
      'overload',
      ...TINY,
      '--variants',
      'bare',
      '--markdown',
    ])
    expect(code).toBe(0)
    expect(stdout).toContain(
      '| variant | offered | clients | served/s | goodput/s | goodput %cap | p99 ms | p99 ×unloaded | shed/s | shed % |',
    )
    expect(stdout).toMatch(
      /^\| bare \| 8× \| 64 \| [\d,]+ \| [\d,]+ \| \d+% \| [\d.]+ \| [\d.]+× \| 0 \| 0% \|$/m,
    )
    expect(stdout).toMatch(/^at 8×, bare: goodput \d+% of capacity$/m)
  }, 120_000)
})

describe('diana bench overload: argument errors exit 2 with the usage', () => {
  it.each([
    [['--slots', '0'], /--slots must be a whole number/],
    [['--steps', '1,x'], /--steps must be/],
    [['--variants', 'adaptiv'], /unknown variant "adaptiv"; did you mean "adaptive"\?/],
    [['--json', '--markdown'], /pick one/],
    [['--svg', ''], /--svg needs a file name/],
    [['--store', 'redis'], /--store/],
  ])('diana bench overload %j', async (args, message) => {
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
    let code: number
    try {
      code = await main(['bench', 'overload', ...args])
    } finally {
      vi.restoreAllMocks()
    }
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toMatch(message)
    expect(stderr).toContain('diana bench overload [--slots N]')
  })

  it('--help describes the overload flags', async () => {
    let stdout = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk)
      return true
    })
    try {
      expect(await main(['bench', 'overload', '--help'])).toBe(0)
    } finally {
      vi.restoreAllMocks()
    }
    expect(stdout).toContain('--service-time MS')
    expect(stdout).toContain('--svg FILE')
  })
})
