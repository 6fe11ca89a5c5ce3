import { describe, expect, it } from 'vitest'
import type { Rule } from '../../src/rules/rule'
import { frameworks, startsApps } from '../adapters/support/apps'
import { fakeClock, send } from '../adapters/support/http'

// Issue 11: `x-device-id: 127.0.0.1` landed in the bucket of the client at 127.0.0.1, so
// anyone could use up any client's quota by naming its address in a header.
const perDevice: Rule = {
  name: 'per-device',
  dimension: 'device',
  algorithm: 'fixed-window',
  limit: 2,
  window: '1m',
}

describe.each(frameworks)('$name: header and address devices live apart', (framework) => {
  const start = startsApps(framework)

  it('a header naming the client address does not touch that client’s bucket', async () => {
    const { url } = await start({ options: { rules: [perDevice], clock: fakeClock().now } })
    for (const forged of ['127.0.0.1', '::ffff:127.0.0.1', 'a:127.0.0.1', 'h:127.0.0.1']) {
      for (let i = 0; i < 3; i++) await send(`${url}/health`, { headers: { 'x-device-id': forged } })
    }
    // The client at 127.0.0.1, without a header, still has its whole quota.
    expect([(await send(`${url}/health`)).status, (await send(`${url}/health`)).status]).toEqual([200, 200])
    expect((await send(`${url}/health`)).status).toBe(429)
  })

  it('a header naming an IPv6 client’s /56 does not touch that client’s bucket', async () => {
    const { url } = await start({ options: { rules: [perDevice], clock: fakeClock().now }, trustProxy: true })
    const victim = { 'x-forwarded-for': '2001:db8:1:2::1' }
    for (const forged of ['2001:db8:1::/56', '2001:db8:1:2::1', 'a:2001:db8:1::/56', '2001:db8:1:2::/64']) {
      for (let i = 0; i < 3; i++) {
        await send(`${url}/health`, { headers: { 'x-device-id': forged, 'x-forwarded-for': '203.0.113.9' } })
      }
    }
    expect((await send(`${url}/health`, { headers: victim })).status).toBe(200)
    expect((await send(`${url}/health`, { headers: victim })).status).toBe(200)
    expect((await send(`${url}/health`, { headers: victim })).status).toBe(429)
  })

  it('a long header value is still hashed into its own bucket, apart from addresses', async () => {
    const { url } = await start({ options: { rules: [perDevice], clock: fakeClock().now } })
    const long = { 'x-device-id': `127.0.0.1${' '.repeat(200)}x` }
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await send(`${url}/health`, { headers: long })).status)
    expect(statuses).toEqual([200, 200, 429])
    expect((await send(`${url}/health`)).status).toBe(200)
  })
})
