import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { limitHeaders, send } from '../adapters/support/http'

// The example apps import `diana-limiter/...`, which resolves to this package's own build
// (dist/, made by `npm ci` / `npm run build`), exactly as in a user's app.
const examples = [
  { framework: 'express', file: 'examples/adapters/express-app.ts', doc: 'docs/express.md' },
  { framework: 'fastify', file: 'examples/adapters/fastify-app.ts', doc: 'docs/fastify.md' },
  { framework: 'koa', file: 'examples/adapters/koa-app.ts', doc: 'docs/koa.md' },
  { framework: 'hono', file: 'examples/adapters/hono-app.ts', doc: 'docs/hono.md' },
  { framework: 'nestjs', file: 'examples/adapters/nestjs-app.ts', doc: 'docs/nestjs.md' },
]

function start(file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let output = ''
    const onData = (chunk: Buffer) => {
      output += chunk
      const match = /listening on (http:\/\/\S+)/.exec(output)
      if (match) resolve({ child, url: (match[1] as string).replace(/\/$/, '') })
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk
    })
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}:\n${output}`)))
  })
}

/** Waits, if need be, until at least `room` ms are left in the current aligned `window`. */
async function earlyInWindow(window: number, room: number): Promise<void> {
  const left = window - (Date.now() % window)
  if (left < room) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

describe.each(examples)('the $framework example app', ({ file, doc }) => {
  let child: ChildProcess | undefined
  afterEach(() => {
    child?.kill()
    child = undefined
  })

  it('is shown in the docs, verbatim', async () => {
    const [text, code] = await Promise.all([readFile(doc, 'utf8'), readFile(file, 'utf8')])
    expect(text).toContain(code.trim())
  })

  it('runs, limits per device and per account, and shapes the seckill route', async () => {
    const app = await start(file)
    child = app.child
    const health = await send(`${app.url}/health`)
    expect([health.status, limitHeaders(health)]).toEqual([200, {}])

    const device = { 'x-device-id': 'phone-1' }
    // The device rule is a 10 s fixed window aligned to the epoch (the app runs on real time):
    // the 21 requests must fall in one window, or the 21st rightly starts a fresh quota.
    await earlyInWindow(10_000, 7_000)
    for (let i = 0; i < 20; i++)
      expect((await send(`${app.url}/api/items/${i}`, { headers: device })).status).toBe(200)
    const denied = await send(`${app.url}/api/items/1`, { headers: device })
    expect(denied.status).toBe(429)
    expect(denied.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(JSON.parse(denied.body)).toMatchObject({ status: 429, rule: 'device' })

    // Alice's account allows 100 a minute, whichever devices she uses.
    const alice = (i: number) => ({ authorization: 'Bearer token-alice', 'x-device-id': `alice-${i}` })
    const statuses = new Set<number>()
    for (let i = 0; i < 100; i++)
      statuses.add((await send(`${app.url}/api/items/1`, { headers: alice(i) })).status)
    expect([...statuses]).toEqual([200])
    const tooMany = await send(`${app.url}/api/items/1`, { headers: alice(100) })
    expect([tooMany.status, JSON.parse(tooMany.body).rule]).toEqual([429, 'account'])

    // Ten buys a second, five may wait: of eight at once, some wait and the rest are refused.
    const buys = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        send(`${app.url}/api/seckill/sku-1`, { method: 'POST', headers: { 'x-device-id': `buyer-${i}` } }),
      ),
    )
    const counts = { 200: 0, 429: 0 } as Record<number, number>
    for (const buy of buys) counts[buy.status] = (counts[buy.status] ?? 0) + 1
    expect(counts[200]).toBeGreaterThanOrEqual(6)
    expect(counts[429]).toBeGreaterThanOrEqual(1)
    expect(counts[200]! + counts[429]!).toBe(8)

    // Other spellings of one seckill path are the same resource, not eight fresh buckets: at
    // most 1 + burst (5) of eight at once get through.
    const spellings = [
      '/api/seckill/sku-2',
      '/API/SECKILL/sku-2',
      '/api/Seckill/sku-2',
      '/api/seckill/sku-2/',
      '/api/seckill/SKU-2',
      '/Api/seckill/sku-2/',
      '/api/%73eckill/sku-2',
      '/api/seckill/%73ku-2',
    ]
    const spelled = await Promise.all(
      spellings.map((path, i) =>
        send(`${app.url}${path}`, { method: 'POST', headers: { 'x-device-id': `spelling-${i}` } }),
      ),
    )
    expect(spelled.filter((reply) => reply.status === 200).length).toBeLessThanOrEqual(6)
  })
})

it('the Express example serves Prometheus metrics', async () => {
  const app = await start('examples/adapters/express-app.ts')
  try {
    await send(`${app.url}/api/items/1`)
    const metrics = await send(`${app.url}/metrics`)
    expect(metrics.body).toMatch(/diana_allowed_total\{limiter="default",rule="device"\} 1/)
    expect(metrics.body).toMatch(/diana_check_duration_seconds_count\{limiter="default"\} 1/)
  } finally {
    app.child.kill()
  }
})
