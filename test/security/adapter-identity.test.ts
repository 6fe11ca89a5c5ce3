import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { signDeviceId } from '../../src/device-id'
import type { Rule } from '../../src/rules/rule'
import { frameworks, startsApps } from '../adapters/support/apps'
import { fakeClock, send } from '../adapters/support/http'

// Issue 13: who a client is must not be the client's to say. An unsigned device header lets a
// bot take a fresh bucket per request; an ip rule must hold whatever headers arrive; IPv6
// clients own whole networks; and one IPv4 client has many IPv6 spellings.
const SECRET = 'an app secret of enough bytes'
const perDevice: Rule = {
  name: 'per-device',
  dimension: 'device',
  algorithm: 'fixed-window',
  limit: 3,
  window: '1m',
}
const perIp: Rule = { name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 2, window: '1m' }

function signedWith(secret: string, id: string): string {
  return `${id}.${createHmac('sha256', secret).update(id).digest('base64url')}`
}

describe.each(frameworks)('$name: client identity', (framework) => {
  const start = startsApps(framework)

  it('a bot rotating unsigned or forged device ids stays in its address bucket', async () => {
    const { url } = await start({
      options: { rules: [perDevice], clock: fakeClock().now, deviceSecret: SECRET },
    })
    const good = signDeviceId('phone-1', SECRET)
    const longId = 'x'.repeat(230)
    const forged = [
      'bot-1',
      'bot-2.',
      `bot-3.${'A'.repeat(43)}`,
      signedWith('another secret of many bytes', 'bot-4'),
      `${good.slice(0, -1)}${good.endsWith('A') ? 'B' : 'A'}`,
      `phone-1.${good.slice(good.indexOf('.') + 1, -1)}`,
      `${good}x`,
      // Validly signed, but too long to be worth hashing on every request.
      signedWith(SECRET, longId),
    ]
    const statuses = []
    for (const id of forged)
      statuses.push((await send(`${url}/health`, { headers: { 'x-device-id': id } })).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429])
    // The signed device has its own whole quota, counted by its ID.
    const signed = []
    for (let i = 0; i < 4; i++)
      signed.push((await send(`${url}/health`, { headers: { 'x-device-id': good } })).status)
    expect(signed).toEqual([200, 200, 200, 429])
    expect(
      (await send(`${url}/health`, { headers: { 'x-device-id': signDeviceId('phone-2', SECRET) } })).status,
    ).toBe(200)
  })

  it('an ip rule cannot be dodged by any header', async () => {
    const quiet = { warn: () => {} }
    const { url } = await start({ options: { rules: [perIp], clock: fakeClock().now, logger: quiet } })
    const dodges: Record<string, string>[] = [
      { 'x-forwarded-for': '198.51.100.1' },
      { 'x-forwarded-for': '::ffff:198.51.100.2, 198.51.100.3' },
      { forwarded: 'for=198.51.100.4' },
      { 'x-real-ip': '198.51.100.5' },
      { 'x-client-ip': '198.51.100.6' },
      { 'cf-connecting-ip': '198.51.100.7' },
      { 'true-client-ip': '198.51.100.8' },
      { 'x-device-id': '198.51.100.9' },
    ]
    const statuses = []
    for (const headers of dodges) statuses.push((await send(`${url}/health`, { headers })).status)
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429, 429, 429])
  })

  it('every spelling of an IPv4-mapped address reaches the IPv4 address’s bucket', async () => {
    const spellings = [
      '203.0.113.7',
      '::ffff:203.0.113.7',
      '::FFFF:203.0.113.7',
      '::ffff:cb00:7107',
      '0:0:0:0:0:ffff:203.0.113.7',
      '0000:0000:0000:0000:0000:FFFF:CB00:7107',
      '::0:ffff:cb00:7107',
    ]
    const { url } = await start({
      options: { rules: [{ ...perIp, limit: spellings.length }], clock: fakeClock().now },
      trustProxy: true,
    })
    for (const ip of spellings) {
      expect((await send(`${url}/health`, { headers: { 'x-forwarded-for': ip } })).status, ip).toBe(200)
    }
    for (const ip of spellings) {
      expect((await send(`${url}/health`, { headers: { 'x-forwarded-for': ip } })).status, ip).toBe(429)
    }
  })

  it('IPv6 addresses in one /56 share a bucket, another /56 has its own', async () => {
    const { url } = await start({ options: { rules: [perIp], clock: fakeClock().now }, trustProxy: true })
    const from = async (ip: string) =>
      (await send(`${url}/health`, { headers: { 'x-forwarded-for': ip } })).status
    expect(await from('2001:db8:ab12:3400::1')).toBe(200)
    expect(await from('2001:db8:ab12:34ff:ffff:ffff:ffff:ffff')).toBe(200)
    expect(await from('2001:DB8:AB12:3456::5')).toBe(429)
    expect(await from('2001:db8:ab12:3500::1')).toBe(200)
    expect(await from('2001:db8:ab12:3300::1')).toBe(200)
  })

  it('with ipv6Subnet 64, device addresses are grouped per /64 too', async () => {
    const { url } = await start({
      options: { rules: [{ ...perDevice, limit: 1 }], clock: fakeClock().now, ipv6Subnet: 64 },
      trustProxy: true,
    })
    const from = async (ip: string) =>
      (await send(`${url}/health`, { headers: { 'x-forwarded-for': ip } })).status
    expect(await from('2001:db8:1:2::1')).toBe(200)
    expect(await from('2001:db8:1:2::ffff')).toBe(429)
    expect(await from('2001:db8:1:3::1')).toBe(200)
  })
})
