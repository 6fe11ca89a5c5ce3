import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { describeNginx, NginxProcess } from '../support/nginx-server'
import { ServeProcess, writeConfig } from './serve-process'

/**
 * The Nginx recipe of docs/gateway.md, verbatim below in `recipe`: a real nginx asks
 * `diana serve` with `auth_request` before each request reaches the upstream, and turns a
 * denial into 429 with Diana's headers.
 */

/**
 * The `http { }` body of the docs' recipe, with diana serve at `diana` and the application at
 * `app`; `failOpen` adds the docs' lines that pass requests on while diana serve is down.
 */
export function recipe(diana: string, app: string, failOpen = false): string {
  const text = `
  upstream diana { server ${diana}; keepalive 16; }
  upstream app { server ${app}; }

  server {
    listen 127.0.0.1:PORT;

    location / {
      auth_request /_diana;
      # Diana's headers, from its answer to the subrequest.
      auth_request_set $diana_policy $upstream_http_ratelimit_policy;
      auth_request_set $diana_ratelimit $upstream_http_ratelimit;
      auth_request_set $diana_retry_after $upstream_http_retry_after;
      add_header RateLimit-Policy $diana_policy always;
      add_header RateLimit $diana_ratelimit always;
      # diana serve answers 403 for a denial: auth_request takes only 2xx, 401 and 403.
      error_page 403 = @limited;
      proxy_pass http://app;
    }

    location = /_diana {
      internal;
      proxy_pass http://diana/nginx/auth;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Real-IP $remote_addr;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
      proxy_set_header X-Diana-Account $http_x_api_key;
      proxy_connect_timeout 1s;
      proxy_read_timeout 2s;
    }

    location @limited {
      add_header RateLimit-Policy $diana_policy always;
      add_header RateLimit $diana_ratelimit always;
      add_header Retry-After $diana_retry_after always;
      default_type application/json;
      return 429 '{"error":"rate limited"}\\n';
    }
  }
`
  return failOpen
    ? text.replace(FAIL_CLOSED, FAIL_OPEN).replace(/\n {2}}\n$/, `${FAIL_OPEN_LOCATION}  }\n`)
    : text
}

const FAIL_CLOSED = '      error_page 403 = @limited;\n'
/** In `location /`: an auth_request that cannot be answered is a 500; send those to the app. */
export const FAIL_OPEN = `${FAIL_CLOSED}      error_page 500 = @diana_down;\n`
export const FAIL_OPEN_LOCATION = `
    location @diana_down {
      # diana serve is down or failed: fail open, unlimited.
      proxy_pass http://app;
    }
`

describeNginx('diana serve behind a real nginx (auth_request)', () => {
  const config = writeConfig(`version: 1
rules:
  - { name: per-account, dimension: account, algorithm: fixed-window, limit: 3, window: 1h }
  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 100, window: 1h }
`)
  let serve: ServeProcess
  let nginx: NginxProcess
  let app: Server
  const reached: string[] = []

  beforeAll(async () => {
    serve = await ServeProcess.start(config.file)
    app = createServer((req, res) => {
      reached.push(`${req.method} ${req.url}`)
      res.setHeader('Content-Type', 'text/plain')
      res.end('hello from the upstream\n')
    })
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve))
    const appAddress = `127.0.0.1:${(app.address() as AddressInfo).port}`
    nginx = await NginxProcess.start(recipe(serve.address, appAddress))
  }, 30_000)

  afterAll(async () => {
    await nginx?.stop()
    await serve?.stop()
    await new Promise((resolve) => app?.close(resolve))
    config.remove()
  })

  it('passes requests to the upstream until the account runs out, then answers 429 with RateLimit headers', async () => {
    const get = () => fetch(`${nginx.url}/api/orders?page=1`, { headers: { 'x-api-key': 'key-1' } })
    const seen: string[] = []
    for (let i = 0; i < 3; i++) {
      const res = await get()
      seen.push(`${res.status} ${res.headers.get('ratelimit')}`)
      expect(res.status).toBe(200)
      expect(await res.text()).toBe('hello from the upstream\n')
      expect(res.headers.get('ratelimit-policy')).toBe('"per-account";q=3;w=3600')
      expect(res.headers.get('ratelimit')).toMatch(new RegExp(`^"per-account";r=${2 - i};t=\\d+$`))
    }
    const denied = await get()
    seen.push(
      `${denied.status} ${denied.headers.get('ratelimit')} retry-after=${denied.headers.get('retry-after')}`,
    )
    console.info(`nginx-fronted sequence:\n  ${seen.join('\n  ')}`)
    expect(denied.status).toBe(429)
    expect(await denied.json()).toEqual({ error: 'rate limited' })
    expect(denied.headers.get('ratelimit-policy')).toBe('"per-account";q=3;w=3600')
    expect(denied.headers.get('ratelimit')).toMatch(/^"per-account";r=0;t=\d+$/)
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0)
    // The denied request never reached the upstream.
    expect(reached).toEqual(['GET /api/orders?page=1', 'GET /api/orders?page=1', 'GET /api/orders?page=1'])
    // Another account is not limited by this one.
    expect((await fetch(`${nginx.url}/api/orders`, { headers: { 'x-api-key': 'key-2' } })).status).toBe(200)
  })

  it('counts the client address nginx saw, not one the client claims', async () => {
    // No account: only per-ip applies, keyed by $remote_addr (127.0.0.1), whatever X-Real-IP says.
    const res = await fetch(`${nginx.url}/x`, { headers: { 'x-real-ip': '203.0.113.50' } })
    expect(res.status).toBe(200)
    const check = await fetch(`${serve.url}/check`, {
      method: 'POST',
      body: JSON.stringify({ subject: { ip: '203.0.113.50' } }),
    })
    // 203.0.113.50 was never counted: its first check leaves 99 of 100.
    expect(await check.json()).toMatchObject({ rule: 'per-ip', remaining: 99 })
  })

  it('answers 500 while diana serve is down (fails closed), or passes requests on with the fail-open lines', async () => {
    const appAddress = `127.0.0.1:${(app.address() as AddressInfo).port}`
    // Port 9 (discard): nothing listens, the subrequest's connection is refused.
    const closed = await NginxProcess.start(recipe('127.0.0.1:9', appAddress))
    const open = await NginxProcess.start(recipe('127.0.0.1:9', appAddress, true))
    try {
      expect((await fetch(`${closed.url}/api/orders`)).status).toBe(500)
      const passed = await fetch(`${open.url}/api/orders`)
      expect(passed.status).toBe(200)
      expect(await passed.text()).toBe('hello from the upstream\n')
    } finally {
      await Promise.all([closed.stop(), open.stop()])
    }
  })

  it('is the recipe docs/gateway.md shows', () => {
    const doc = readFileSync(new URL('../../docs/gateway.md', import.meta.url), 'utf8')
    const shown = recipe('127.0.0.1:8080', '127.0.0.1:3000').replace('listen 127.0.0.1:PORT;', 'listen 80;')
    expect(doc).toContain(shown)
    expect(doc).toContain(FAIL_OPEN)
    expect(doc).toContain(FAIL_OPEN_LOCATION)
  })
})
