/**
 * Rule edits of a watched file through the dashboard, attacked over real HTTP: a file larger
 * than the editor takes must not be written back truncated, two editors racing on the same
 * base must not both win, a write the hot reload refuses must not stay on disk (it would stop
 * the next start) and must be logged, and the write must keep a symlink and the file's mode.
 */
import {
  chmodSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createLimiter } from '../../src/index'
import {
  auth,
  editHeaders,
  type Running,
  recording,
  serveDashboard,
  TOKEN,
} from '../dashboard/dashboard-harness'

const RULE = '  - { name: per-account, dimension: account, algorithm: fixed-window, limit: 2, window: 1h }\n'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

function folder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'diana-dashboard-attack-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

async function started(file: string, extra: Record<string, unknown> = {}, logger = recording()) {
  const limiter = createLimiter({ config: file })
  const running: Running = await serveDashboard(limiter, { token: TOKEN, allowEdits: true, logger, ...extra })
  cleanups.push(async () => {
    await running.close()
    await limiter.close()
  })
  return { limiter, running, logger }
}

async function editable(url: string) {
  const res = await fetch(`${url}/api/rules`, { headers: auth() })
  expect(res.status).toBe(200)
  return (await res.json()) as { text: string; base: string; target: { kind: string; reason?: string } }
}

const apply = (url: string, body: unknown) =>
  fetch(`${url}/api/rules/apply`, { method: 'POST', headers: editHeaders(), body: JSON.stringify(body) })

describe('dashboard rule edits under attack', () => {
  it('refuse to edit a file larger than maxEditBytes instead of writing it back cut short', async () => {
    const file = join(folder(), 'diana.yaml')
    // Valid YAML whichever line it is cut at: the rules, then a long tail of comments.
    const original = `version: 1\nrules:\n${RULE}${'# a note the operator keeps in the file\n'.repeat(60)}`
    writeFileSync(file, original)
    const { running } = await started(file, { maxEditBytes: 1024 })
    const { text, base, target } = await editable(running.url)
    expect(target.kind).toBe('refused')
    expect(target.reason).toMatch(/larger than 1024 bytes/)
    const res = await apply(running.url, { text: text || `version: 1\nrules:\n${RULE}`, base })
    expect(res.status).toBe(409)
    expect(readFileSync(file, 'utf8')).toBe(original)
  })

  it('let only one of two editors racing on the same base win', async () => {
    const file = join(folder(), 'diana.yaml')
    writeFileSync(file, `version: 1\nrules:\n${RULE}`)
    const { running, limiter } = await started(file)
    const { text, base } = await editable(running.url)
    const three = text.replace('limit: 2', 'limit: 3')
    const four = text.replace('limit: 2', 'limit: 4')
    const answers = await Promise.all([
      apply(running.url, { text: three, base }),
      apply(running.url, { text: four, base }),
    ])
    const statuses = answers.map((res) => res.status).sort()
    expect(statuses).toEqual([200, 409])
    const winner = answers[0]?.status === 200 ? three : four
    expect(readFileSync(file, 'utf8')).toBe(winner)
    expect(limiter.rules[0]?.limit).toBe(winner === three ? 3 : 4)
  })

  it('put the file back when the hot reload refuses what was written, and log the attempt', async () => {
    const file = join(folder(), 'diana.yaml')
    const original = `version: 1\nrules:\n${RULE}`
    writeFileSync(file, original)
    // The editor takes up to 1 MiB, the file source its default 256 KiB: an edit between the two
    // passes the dashboard's check and is refused by the reload (and by the next start).
    const logger = recording()
    const { running, limiter } = await started(file, { maxEditBytes: 1024 * 1024 }, logger)
    const { text, base } = await editable(running.url)
    const big = `${text.replace('limit: 2', 'limit: 1000')}${'# padding padding padding padding\n'.repeat(9000)}`
    const res = await apply(running.url, { text: big, base })
    expect(res.status).toBe(422)
    expect(((await res.json()) as { error: string }).error).toMatch(/restored/)
    expect(readFileSync(file, 'utf8')).toBe(original)
    expect(limiter.rules[0]?.limit).toBe(2)
    expect(logger.lines.join('\n')).toMatch(/by token .*refused/s)
    // The editor holds the file as it is again: an edit from it applies.
    const again = await editable(running.url)
    expect(again.base).toBe(base)
  })

  it('say so, in the answer and the log, when an edit switches limits off', async () => {
    const limiter = createLimiter({
      rules: [
        { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 2, window: '1h' },
        { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 100, window: '1h' },
      ],
    })
    const logger = recording()
    const running = await serveDashboard(limiter, { token: TOKEN, allowEdits: true, logger })
    cleanups.push(async () => {
      await running.close()
      await limiter.close()
    })
    const { base } = await editable(running.url)
    const off =
      'version: 1\nrules:\n  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 100, window: 1h, shadow: true }\n'
    const preview = await fetch(`${running.url}/api/rules/preview`, {
      method: 'POST',
      headers: editHeaders(),
      body: JSON.stringify({ text: off, base }),
    })
    expect(preview.status).toBe(200)
    const warnings = ((await preview.json()) as { warnings: string[] }).warnings
    expect(warnings).toEqual([
      'removes per-account',
      'makes per-ip shadow-only (denies nothing)',
      'leaves no rule that denies anything: every request will be allowed',
    ])
    expect((await apply(running.url, { text: off, base })).status).toBe(200)
    expect(logger.lines.join('\n')).toMatch(
      /rules edited by token \(in memory\) \(warning: removes per-account;/,
    )
  })

  it('write through a symlinked configuration file, keeping the link and the mode', async () => {
    const dir = folder()
    const real = join(dir, 'real.yaml')
    const link = join(dir, 'diana.yaml')
    writeFileSync(real, `version: 1\nrules:\n${RULE}`)
    chmodSync(real, 0o664)
    symlinkSync(real, link)
    const previous = process.umask(0o022)
    cleanups.push(() => {
      process.umask(previous)
    })
    const { running, limiter } = await started(link)
    const { text, base } = await editable(running.url)
    const edited = text.replace('limit: 2', 'limit: 3')
    const res = await apply(running.url, { text: edited, base })
    expect(res.status).toBe(200)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readlinkSync(link)).toBe(real)
    expect(readFileSync(real, 'utf8')).toBe(edited)
    expect(statSync(real).mode & 0o777).toBe(0o664)
    expect(limiter.rules[0]?.limit).toBe(3)
  })
})
