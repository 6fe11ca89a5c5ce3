/**
 * Rule edits through the dashboard over real HTTP: refused unless allowed and same-origin,
 * validated by the configuration schema, shown as a diff, applied where the rules come from
 * (in memory, the watched file, never a remote source), keeping counters, and logged.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { RemoteDocument } from '../../src/config/config-schema'
import type { ConfigSource } from '../../src/config/config-source'
import { parseRemoteDocument } from '../../src/config/parse-config'
import { createLimiter, type Limiter } from '../../src/index'
import { auth, editHeaders, type Running, recording, serveDashboard, TOKEN } from './dashboard-harness'

const RULES = [
  { name: 'per-account', dimension: 'account', algorithm: 'fixed-window', limit: 2, window: '1h' },
  { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 100, window: '1h' },
]

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

async function started(limiter: Limiter, logger = recording(), extra = {}): Promise<Running> {
  const running = await serveDashboard(limiter, { token: TOKEN, allowEdits: true, logger, ...extra })
  cleanups.push(async () => {
    await running.close()
    await limiter.close()
  })
  return running
}

async function editable(url: string): Promise<{ text: string; base: string; target: { kind: string } }> {
  const res = await fetch(`${url}/api/rules`, { headers: auth() })
  expect(res.status).toBe(200)
  return (await res.json()) as { text: string; base: string; target: { kind: string } }
}

const post = (url: string, path: string, body: unknown, headers: Record<string, string> = editHeaders()) =>
  fetch(`${url}/api/rules/${path}`, { method: 'POST', headers, body: JSON.stringify(body) })

describe('rule edits', () => {
  it('are off by default: 403, and the read-only rules view holds no file', async () => {
    const limiter = createLimiter({ rules: RULES })
    const running = await serveDashboard(limiter, { token: TOKEN })
    cleanups.push(async () => {
      await running.close()
      await limiter.close()
    })
    const res = await post(running.url, 'apply', { text: 'rules: []', base: '0'.repeat(64) })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: string }).error).toMatch(/allowEdits: true/)
    const view = (await (await fetch(`${running.url}/api/rules`, { headers: auth() })).json()) as Record<
      string,
      unknown
    >
    expect(view).toEqual({ allowEdits: false, rules: RULES })
  })

  it('refuse requests without the custom header, from another origin or another site (CSRF)', async () => {
    const running = await started(createLimiter({ rules: RULES }))
    const { text, base } = await editable(running.url)
    const body = { text, base }
    const { 'x-diana-dashboard': _, ...noCustom } = editHeaders()
    expect((await post(running.url, 'apply', body, noCustom)).status).toBe(403)
    expect(
      (await post(running.url, 'apply', body, { ...editHeaders(), origin: 'https://evil.example' })).status,
    ).toBe(403)
    expect(
      (await post(running.url, 'apply', body, { ...editHeaders(), 'sec-fetch-site': 'cross-site' })).status,
    ).toBe(403)
    expect(
      (await post(running.url, 'apply', body, { ...editHeaders(), 'content-type': 'text/plain' })).status,
    ).toBe(415)
    expect((await post(running.url, 'apply', body, editHeaders('wrong-token-wrong-token'))).status).toBe(401)
    const host = new URL(running.url).host
    expect(
      (await post(running.url, 'preview', body, { ...editHeaders(), origin: `http://${host}` })).status,
    ).toBe(200)
  })

  it('in memory: preview shows the diff, apply puts the rules in force, keeps unchanged counters, and is logged', async () => {
    const limiter = createLimiter({ rules: RULES })
    const logger = recording()
    const running = await started(limiter, logger)
    // per-ip has counted 3 of 100 for this address; per-account is used up for alice.
    for (let i = 0; i < 3; i++) await limiter.check({ account: 'alice', ip: '192.0.2.1' })
    expect((await limiter.check({ account: 'alice' })).allowed).toBe(false)
    const ipBefore = (await limiter.peek({ ip: '192.0.2.1' })).remaining
    expect(ipBefore).toBeLessThan(100)
    const { text, base, target } = await editable(running.url)
    expect(target.kind).toBe('memory')
    const edited = text.replace('limit: 2', 'limit: 5')
    const preview = await post(running.url, 'preview', { text: edited, base })
    expect(preview.status).toBe(200)
    const shown = (await preview.json()) as { diff: { op: string; text: string }[]; changed: boolean }
    expect(shown.changed).toBe(true)
    expect(shown.diff.filter((line) => line.op !== ' ')).toEqual([
      { op: '-', text: '    limit: 2' },
      { op: '+', text: '    limit: 5' },
    ])
    // Nothing changed by a preview.
    expect(limiter.rules[0]?.limit).toBe(2)
    const applied = await post(running.url, 'apply', { text: edited, base })
    expect(applied.status).toBe(200)
    expect(limiter.rules[0]?.limit).toBe(5)
    // per-account changed: fresh counters; per-ip did not: it carries on where it was.
    const after = await limiter.check({ account: 'alice', ip: '192.0.2.1' })
    expect(after.allowed).toBe(true)
    expect((await limiter.peek({ ip: '192.0.2.1' })).remaining).toBe(ipBefore - 1)
    expect(logger.lines.join('\n')).toMatch(
      /rules edited by token \(in memory\):\n[\s\S]*- {5}limit: 2\n\+ {5}limit: 5/,
    )
    // The base moved: an edit made against the old text is refused.
    const stale = await post(running.url, 'apply', { text: edited.replace('limit: 5', 'limit: 9'), base })
    expect(stale.status).toBe(409)
    expect(limiter.rules[0]?.limit).toBe(5)
  })

  it('validate with the configuration schema: a bad edit is refused with its position and changes nothing', async () => {
    const limiter = createLimiter({ rules: RULES })
    const logger = recording()
    const running = await started(limiter, logger)
    const { text, base } = await editable(running.url)
    for (const [bad, message] of [
      [text.replace('limit: 2', 'limit: -1'), /dashboard edit:\d+:\d+: rules\[0\]\.limit/],
      [text.replace('fixed-window', 'fixed-windw'), /did you mean "fixed-window"/],
      [`${text}serve: { domains: [shop] }\n`, /only rules can be changed here .*remove serve/],
      ['rules: [', /dashboard edit:1:/],
    ] as const) {
      const res = await post(running.url, 'apply', { text: bad, base })
      expect(res.status).toBe(422)
      expect(((await res.json()) as { error: string }).error).toMatch(message)
    }
    expect(limiter.rules).toEqual(RULES)
    expect(logger.lines).toEqual([])
  })

  it('refuse a body larger than maxEditBytes and bodies of the wrong shape', async () => {
    const running = await started(createLimiter({ rules: RULES }), recording(), { maxEditBytes: 4096 })
    const { base } = await editable(running.url)
    const big = await post(running.url, 'apply', { text: `# ${'x'.repeat(6000)}`, base })
    expect(big.status).toBe(413)
    const huge = await fetch(`${running.url}/api/rules/apply`, {
      method: 'POST',
      headers: editHeaders(),
      body: 'x'.repeat(2_000_000),
    })
    expect(huge.status).toBe(413)
    expect((await post(running.url, 'apply', { text: 1, base })).status).toBe(400)
    expect((await post(running.url, 'apply', { text: 'rules: []', base: 'abc' })).status).toBe(400)
    const notJson = await fetch(`${running.url}/api/rules/apply`, {
      method: 'POST',
      headers: editHeaders(),
      body: '{',
    })
    expect(notJson.status).toBe(400)
  })

  it('with a watched file: writes it atomically and the hot reload puts it in force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'diana-dashboard-'))
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    const file = join(dir, 'diana.yaml')
    writeFileSync(
      file,
      '# rate limits of the shop\nversion: 1\nrules:\n  - { name: per-account, dimension: account, algorithm: fixed-window, limit: 2, window: 1h }\n',
    )
    const limiter = createLimiter({ config: file })
    const logger = recording()
    const running = await started(limiter, logger)
    const { text, base, target } = await editable(running.url)
    expect(target).toEqual({ kind: 'file', path: file })
    expect(text).toContain('# rate limits of the shop')
    const edited = text.replace('limit: 2', 'limit: 3')
    const res = await post(running.url, 'apply', { text: edited, base })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { version: number }).version).toBe(2)
    expect(readFileSync(file, 'utf8')).toBe(edited)
    expect(readdirSync(dir)).toEqual(['diana.yaml'])
    expect(limiter.rules[0]?.limit).toBe(3)
    expect(logger.lines.join('\n')).toContain(`rules edited by token (${file})`)
    const state = (await (await fetch(`${running.url}/api/state`, { headers: auth() })).json()) as {
      status: { config: { version: number; source: string } }
    }
    expect(state.status.config).toMatchObject({ version: 2, source: file })
  })

  it('refuses to edit rules that come from a remote source, saying where to publish', async () => {
    const remote: ConfigSource<RemoteDocument> = {
      name: 'nacos:DEFAULT_GROUP/diana-rules.yaml',
      read: async () => undefined,
      convert: (text, name) => parseRemoteDocument(text, name ?? 'remote'),
      listen: () => {},
      close: async () => {},
    }
    const limiter = createLimiter({ rules: RULES, sources: [remote] })
    const running = await started(limiter)
    const { text, base, target } = await editable(running.url)
    expect(target.kind).toBe('refused')
    const res = await post(running.url, 'apply', { text, base })
    expect(res.status).toBe(409)
    expect(((await res.json()) as { error: string }).error).toMatch(
      /nacos:DEFAULT_GROUP\/diana-rules.yaml: publish the change there/,
    )
  })
})
