/**
 * The dashboard mounted under /ops in each framework, as docs/dashboard.md shows it verbatim:
 * each example runs in its own process against the built package, as a user's app would.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'

const TOKEN = 'example-dashboard-token-0123456789'
const FILES = ['express', 'fastify', 'koa', 'node-http'].map((name) => `examples/dashboard/${name}.ts`)

function start(file: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) resolve({ child, url: (match[1] as string).replace(/\/$/, '') })
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)))
  })
}

const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill()
})

describe.each(FILES)('%s', (file) => {
  it('is shown in docs/dashboard.md, verbatim', async () => {
    const [doc, code] = await Promise.all([readFile('docs/dashboard.md', 'utf8'), readFile(file, 'utf8')])
    expect(doc).toContain(code.trim())
  })

  it('serves the page under /ops/ and its data only with the token; the app still answers', async () => {
    const { url } = await start(file, { DIANA_DASHBOARD_TOKEN: TOKEN })
    const bare = await fetch(`${url}/ops`, { redirect: 'manual' })
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/ops/')
    const page = await fetch(`${url}/ops/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<script defer src="assets/dashboard.js">')
    expect((await fetch(`${url}/ops/assets/uPlot.min.css`)).status).toBe(200)
    expect((await fetch(`${url}/ops/api/state`)).status).toBe(401)
    const state = await fetch(`${url}/ops/api/state`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(state.status).toBe(200)
    expect(((await state.json()) as { rules: { name: string }[] }).rules.map((rule) => rule.name)).toEqual([
      'per-ip',
    ])
    // Read-only: an edit is refused even with the token (the body is read, not left hanging).
    const edit = await fetch(`${url}/ops/api/rules/apply`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'x-diana-dashboard': '1',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ text: 'version: 1\nrules: []\n', base: '0'.repeat(64) }),
    })
    expect(edit.status).toBe(403)
    expect(await (await fetch(`${url}/`)).text()).toBe('hello')
  }, 30_000)

  it('refuses to start without a token', async () => {
    const { DIANA_DASHBOARD_TOKEN: _, ...env } = process.env
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      env: { ...env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.push(child)
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    expect(code).not.toBe(0)
    expect(stderr).toContain('refusing to serve rate-limit data to anyone')
  }, 30_000)
})
