import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dianaBin } from '../cli/diana-bin'
import { rlsClient } from './grpc/rls-client'
import { postCheck, ServeProcess, writeConfig } from './serve-process'

const CONFIG = `version: 1
rules:
  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 3, window: 1h }
  - { name: per-account, dimension: account, algorithm: token-bucket, limit: 100, window: 1h }
`

describe.sequential('diana serve: the HTTP API', () => {
  const config = writeConfig(CONFIG)
  let serve: ServeProcess

  beforeAll(async () => {
    serve = await ServeProcess.start(config.file)
  }, 30_000)

  afterAll(async () => {
    await serve?.stop()
    config.remove()
  })

  it('answers POST /check with the Decision: 200 while allowed, then 429, with the adapters headers', async () => {
    const subject = { subject: { ip: '192.0.2.1' } }
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      const res = await postCheck(serve.url, subject)
      statuses.push(res.status)
      expect(res.headers.get('ratelimit-policy')).toBe('"per-ip";q=3;w=3600')
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"per-ip";r=${2 - i};t=\\d+$`))
      expect(res.headers.get('retry-after')).toBeNull()
      expect(await res.json()).toMatchObject({ allowed: true, rule: 'per-ip', limit: 3, remaining: 2 - i })
    }
    const denied = await postCheck(serve.url, subject)
    statuses.push(denied.status)
    expect(statuses).toEqual([200, 200, 200, 429])
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(denied.headers.get('ratelimit')).toMatch(/^"per-ip";r=0;t=\d+$/)
    const body = (await denied.json()) as Record<string, unknown>
    expect(body).toMatchObject({ allowed: false, rule: 'per-ip', limit: 3, remaining: 0, degraded: false })
    expect(body.retryAfterMs).toBeGreaterThan(0)
    // Another address has its own quota.
    expect((await postCheck(serve.url, { subject: { ip: '192.0.2.2' } })).status).toBe(200)
  })

  it('takes a cost, checked as limiter.check checks it', async () => {
    const res = await postCheck(serve.url, { subject: { account: 'a-1' }, cost: 40 })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ rule: 'per-account', remaining: 60 })
    const bad = await postCheck(serve.url, { subject: { account: 'a-1' }, cost: -1 })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: string }).error).toMatch(/cost must be a finite number >= 0/)
    const text = await postCheck(serve.url, { subject: { account: 'a-1' }, cost: '1' })
    expect(text.status).toBe(400)
  })

  it('answers a subject no rule applies to as allowed, limit and remaining null', async () => {
    const res = await postCheck(serve.url, { subject: { method: 'GET' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit')).toBeNull()
    expect(await res.json()).toMatchObject({ allowed: true, limit: null, remaining: null })
  })

  it('answers the Nginx endpoint 204 or 403, counting the client named by X-Real-IP', async () => {
    const ask = () => fetch(`${serve.url}/nginx/auth`, { headers: { 'x-real-ip': '198.51.100.7' } })
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push((await ask()).status)
    expect(statuses).toEqual([204, 204, 204, 403])
    const denied = await ask()
    expect(denied.headers.get('ratelimit')).toMatch(/^"per-ip";r=0;t=\d+$/)
    expect(denied.headers.get('ratelimit-policy')).toBe('"per-ip";q=3;w=3600')
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0)
    // The same address through POST /check is the same bucket.
    expect((await postCheck(serve.url, { subject: { ip: '198.51.100.7' } })).status).toBe(429)
  })

  it('is healthy once its rules are in force; has metrics; no dashboard without a token', async () => {
    const health = await fetch(`${serve.url}/healthz`)
    expect(health.status).toBe(200)
    const metrics = await fetch(`${serve.url}/metrics`)
    expect(metrics.status).toBe(200)
    const text = await metrics.text()
    expect(text).toMatch(/diana_denied_total\{limiter="default",rule="per-ip"\} [1-9]/)
    const dashboard = await fetch(`${serve.url}/dashboard`)
    expect(dashboard.status).toBe(404)
    expect(await dashboard.text()).toContain('DIANA_DASHBOARD_TOKEN')
  })

  it('answers unknown paths 404 and wrong methods 405', async () => {
    expect((await fetch(`${serve.url}/nope`)).status).toBe(404)
    const wrong = await fetch(`${serve.url}/check`)
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
    expect((await fetch(`${serve.url}/healthz`, { method: 'POST' })).status).toBe(405)
  })

  it('answers a call in flight at SIGTERM, then exits 0', async () => {
    const own = await ServeProcess.start(config.file)
    const [host, port] = splitAddress(own.address)
    // A check whose body is still arriving when the signal comes.
    const socket = connect(port, host)
    await new Promise((resolve) => socket.once('connect', resolve))
    const body = JSON.stringify({ subject: { ip: '203.0.113.9' } })
    socket.write(
      `POST /check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`,
    )
    let answer = ''
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString()
    })
    const exited = own.stop('SIGTERM')
    await waitFor(() => own.stdout.includes('shutting down'))
    socket.write(body.slice(5))
    const started = Date.now()
    await new Promise((resolve) => socket.once('close', resolve))
    // Closed with the answer, not after the 5 s keep-alive timeout.
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK/)
    expect(answer).toContain('"allowed":true')
    expect(await exited).toBe(0)
    expect(own.stdout).toContain('diana serve: stopped')
  }, 30_000)
})

describe('diana serve: the command line', () => {
  it('--grpc serves Envoy RLS v3 beside HTTP, from the same limiter', async () => {
    const config = writeConfig(`version: 1
serve: { descriptors: { remote_address: ip } }
rules:
  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 3, window: 1h }
`)
    const serve = await ServeProcess.start(config.file, ['--grpc', '127.0.0.1:0'])
    const grpcAddress = /grpc on (\S+)/.exec(serve.stdout)?.[1]
    expect(grpcAddress).toMatch(/^127\.0\.0\.1:\d+$/)
    const client = rlsClient(grpcAddress as string)
    try {
      const request = {
        domain: 'edge',
        descriptors: [{ entries: [{ key: 'remote_address', value: '192.0.2.9' }] }],
      }
      const codes: string[] = []
      for (let i = 0; i < 3; i++) codes.push((await client.shouldRateLimit(request)).overall_code)
      expect(codes).toEqual(['OK', 'OK', 'OK'])
      // The same address over HTTP finds the quota the gRPC calls spent.
      expect((await postCheck(serve.url, { subject: { ip: '192.0.2.9' } })).status).toBe(429)
      expect((await client.shouldRateLimit(request)).overall_code).toBe('OVER_LIMIT')
    } finally {
      client.close()
      await serve.stop()
      config.remove()
    }
  }, 30_000)

  it('exits 1 with the position of a problem in the file, 2 for bad usage', async () => {
    const config = writeConfig('version: 1\nserve: { descriptors: { remote_address: ipp } }\nrules: []\n')
    const bad = await dianaBin(['serve', '--config', config.file, '--http', '127.0.0.1:0'])
    config.remove()
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/diana\.yaml:2:\d+: .*unknown subject field "ipp"; did you mean "ip"\?/)
    const usage = await dianaBin(['serve', '--http', 'nowhere'])
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('--http must be HOST:PORT')
    expect((await dianaBin(['serve'])).stderr).toContain('--config FILE is required')
  })

  it('is listed in diana --help', async () => {
    expect((await dianaBin(['--help'])).stdout).toMatch(/serve\s+run a rate-limit service/)
  })
})

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':')
  return [address.slice(0, colon), Number(address.slice(colon + 1))]
}

async function waitFor(test: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!test()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('diana serve: hot reload', () => {
  it('puts an edit of the file in force without a restart', async () => {
    const config = writeConfig(CONFIG)
    const serve = await ServeProcess.start(config.file)
    try {
      const policy = async () =>
        (await postCheck(serve.url, { subject: { ip: '192.0.2.77' } })).headers.get('ratelimit-policy')
      expect(await policy()).toBe('"per-ip";q=3;w=3600')
      writeFileSync(config.file, CONFIG.replace('limit: 3,', 'limit: 50,'))
      const deadline = Date.now() + 10_000
      let seen = await policy()
      while (seen !== '"per-ip";q=50;w=3600' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        seen = await policy()
      }
      expect(seen).toBe('"per-ip";q=50;w=3600')
    } finally {
      await serve.stop()
      config.remove()
    }
  }, 30_000)
})
