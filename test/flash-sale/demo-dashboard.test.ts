/**
 * `npm run demo` mounts Diana's dashboard at /diana/: a real shop process (in memory, as a
 * visitor starts it), its API driven over HTTP, the dashboard read with and without the token.
 */
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it } from 'vitest'
import { type ShopProcess, startShopProcess } from './shop-process'

const children: ChildProcess[] = []

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** Starts the demo and waits for the line that names the dashboard. */
function startDemo(env: Record<string, string>): Promise<ShopProcess> {
  return startShopProcess(
    { PORT: '0', REDIS_URL: '', ...env },
    { children, waitFor: /\[flash-sale\] Diana's dashboard: (http:\/\/127\.0\.0\.1:\d+)\/diana\// },
  )
}

interface State {
  rules: Array<{ name: string; allowed: number[] }>
}

describe('npm run demo: the dashboard at /diana/', () => {
  it('serves the page, refuses a wrong token and shows the shop rules counting its traffic', async () => {
    const token = 'demo-dashboard-test-token'
    const { url } = await startDemo({ DIANA_DASHBOARD_TOKEN: token })

    const page = await fetch(`${url}/diana/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toMatch(/<html/i)
    expect((await fetch(`${url}/diana/api/state`)).status).toBe(401)
    const wrong = await fetch(`${url}/diana/api/state`, { headers: { authorization: 'Bearer nope' } })
    expect(wrong.status).toBe(401)

    // /api/me is limited (unlike the cacheable /api/sale); anonymous is fine.
    for (let i = 0; i < 5; i++) expect((await fetch(`${url}/api/me`)).status).toBe(200)
    const read = async (): Promise<State> => {
      const answer = await fetch(`${url}/diana/api/state`, { headers: { authorization: `Bearer ${token}` } })
      expect(answer.status).toBe(200)
      return (await answer.json()) as State
    }
    // The page shows whole seconds once they end: wait for the second of the traffic to close.
    let state = await read()
    for (let tries = 0; tries < 30 && allowed(state) === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      state = await read()
    }
    expect(state.rules.map((rule) => rule.name)).toEqual(
      expect.arrayContaining(['global', 'account', 'seckill']),
    )
    expect(allowed(state)).toBeGreaterThanOrEqual(5)
  }, 60_000)

  it('makes up a token per start when none is set, and prints it', async () => {
    const { url, output } = await startDemo({ DIANA_DASHBOARD_TOKEN: '' })
    const token = /token: (\S+)/.exec(output())?.[1]
    expect(token).toMatch(/^[\w-]{20,}$/)
    const answer = await fetch(`${url}/diana/api/state`, { headers: { authorization: `Bearer ${token}` } })
    expect(answer.status).toBe(200)
  }, 60_000)
})

function allowed(state: State): number {
  return state.rules.reduce((sum, rule) => sum + rule.allowed.reduce((a, b) => a + b, 0), 0)
}
