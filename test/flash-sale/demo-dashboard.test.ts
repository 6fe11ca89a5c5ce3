/**
 * `npm run demo` mounts Diana's dashboard at /diana/: a real shop process (in memory, as a
 * visitor starts it), its API driven over HTTP, the dashboard read with and without the token.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const SERVER = join(import.meta.dirname, '../../examples/flash-sale/server.ts')
const children: ChildProcess[] = []

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

/** Starts the demo and waits for the line that names the dashboard. */
async function startDemo(env: Record<string, string>): Promise<{ url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, PORT: '0', REDIS_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`shop did not start:\n${output}`)), 30_000)
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /\[flash-sale\] Diana's dashboard: (http:\/\/127\.0\.0\.1:\d+)\/diana\//.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    }
    child.stdout?.on('data', read)
    child.stderr?.on('data', read)
    child.once('exit', (code) => reject(new Error(`shop exited with ${code}:\n${output}`)))
  })
  return { url, output: () => output }
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
