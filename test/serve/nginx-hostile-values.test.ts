import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ServeProcess, writeConfig } from './serve-process'

/**
 * What Nginx copies from the client into the auth subrequest (`$request_uri`, an API key) cannot
 * be padded out of a rule: an over-long value is denied, not counted as absent.
 */
describe.sequential('diana serve: /nginx/auth with over-long client values', () => {
  const config = writeConfig(`version: 1
rules:
  - { name: login, dimension: ip, algorithm: fixed-window, limit: 2, window: 1h, match: { path: /login } }
  - { name: per-account, dimension: account, algorithm: fixed-window, limit: 2, window: 1h }
`)
  let serve: ServeProcess

  beforeAll(async () => {
    serve = await ServeProcess.start(config.file)
  }, 30_000)

  afterAll(async () => {
    await serve?.stop()
    config.remove()
  })

  const ask = (headers: Record<string, string>) =>
    fetch(`${serve.url}/nginx/auth`, { headers: { 'x-real-ip': '198.51.100.9', ...headers } })

  it('limits /login however long the query string is', async () => {
    const statuses = []
    for (let i = 0; i < 4; i++) {
      statuses.push((await ask({ 'x-original-uri': `/login?pad=${'x'.repeat(1100)}${i}` })).status)
    }
    expect(statuses).toEqual([204, 204, 403, 403])
  })

  it('resolves dot segments as Nginx routes them: /a/../login is /login', async () => {
    const statuses = []
    for (const uri of ['/a/../login', '/./login', '/x/%2e%2e/login', '/login/.'])
      statuses.push((await ask({ 'x-original-uri': uri, 'x-real-ip': '203.0.113.5' })).status)
    expect(statuses).toEqual([204, 204, 403, 403])
  })

  it('denies a path over 1024 characters rather than leaving the path rules out', async () => {
    expect((await ask({ 'x-original-uri': `/login/${'a'.repeat(1100)}` })).status).toBe(403)
    // Folded to /login: still the same bucket, still denied.
    expect((await ask({ 'x-original-uri': `/login${'/'.repeat(1100)}` })).status).toBe(403)
  })

  it('denies an over-long account rather than skipping the per-account rule', async () => {
    const key = 'k'.repeat(1100)
    const statuses = []
    for (let i = 0; i < 3; i++)
      statuses.push((await ask({ 'x-diana-account': key, 'x-real-ip': `192.0.2.${i}` })).status)
    expect(statuses).toEqual([403, 403, 403])
    expect(serve.alive).toBe(true)
  })
})
