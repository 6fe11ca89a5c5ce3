/**
 * `diana serve` with DIANA_DASHBOARD_TOKEN: the dashboard under /dashboard, in its own process,
 * read-only by default; its data only with the token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postCheck, ServeProcess, writeConfig } from './serve-process'

const CONFIG = `version: 1
rules:
  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 1, window: 1h }
`
const TOKEN = 'serve-dashboard-token-0123456789'

describe.sequential('diana serve: GET /dashboard', () => {
  const config = writeConfig(CONFIG)
  let serve: ServeProcess

  beforeAll(async () => {
    serve = await ServeProcess.start(config.file, [], { DIANA_DASHBOARD_TOKEN: TOKEN })
  }, 30_000)

  afterAll(async () => {
    await serve?.stop()
    config.remove()
  })

  it('serves the page under /dashboard/ and its data only with the token', async () => {
    const bare = await fetch(`${serve.url}/dashboard`, { redirect: 'manual' })
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/dashboard/')
    const page = await fetch(`${serve.url}/dashboard/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('assets/dashboard.js')
    expect((await fetch(`${serve.url}/dashboard/api/state`)).status).toBe(401)
    const wrong = await fetch(`${serve.url}/dashboard/api/state`, {
      headers: { authorization: `Bearer ${TOKEN}x` },
    })
    expect(wrong.status).toBe(401)
    for (let i = 0; i < 3; i++) await postCheck(serve.url, { subject: { ip: '192.0.2.9' } })
    // The counts of the second just ended: wait for it to end.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const state = await fetch(`${serve.url}/dashboard/api/state`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(state.status).toBe(200)
    const body = (await state.json()) as { rules: { name: string; denied: number[]; allowed: number[] }[] }
    const rule = body.rules.find((r) => r.name === 'per-ip')
    expect(rule?.allowed.reduce((a, b) => a + b, 0)).toBe(1)
    expect(rule?.denied.reduce((a, b) => a + b, 0)).toBe(2)
  })

  it('is read-only unless DIANA_DASHBOARD_EDITS=1', async () => {
    const res = await fetch(`${serve.url}/dashboard/api/rules/apply`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'x-diana-dashboard': '1',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ text: 'rules: []', base: '0'.repeat(64) }),
    })
    expect(res.status).toBe(403)
    expect(((await res.json()) as { error: string }).error).toMatch(/allowEdits/)
  })
})
