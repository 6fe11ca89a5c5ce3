import { isIPv6 } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clientKey, formatIPv6, isPrivateAddress, parseIPv6 } from '../../../adapters/core/client-ip'

describe('client addresses', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::FFFF:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
    ['0000:0000:0000:0000:0000:FFFF:CB00:7107', '203.0.113.7'],
    ['::ffff:203.0.113.7%eth0', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1::/56'],
    ['2001:0DB8:0001:00FF::', '2001:db8:1::/56'],
    ['2001:db8:ab12::1', '2001:db8:ab12::/56'],
    ['2001:db8:ab12:34ff::1', '2001:db8:ab12:3400::/56'],
    ['2001:db8::1', '2001:db8::/56'],
    ['::1', '::/56'],
    ['fe80::1%eth0', 'fe80::/56'],
    ['::203.0.113.7', '::/56'],
    ['::ffff:1.2.3.4:5', '::ffff:1.2.3.4:5'],
    ['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
    ['1::2::3', '1::2::3'],
    ['::ffff:01.2.3.4', '::ffff:01.2.3.4'],
    ['12345::', '12345::'],
  ])('%s is counted as %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key)
  })

  it.each([
    [32, '2001:db8::/32'],
    [48, '2001:db8:ab12::/48'],
    [64, '2001:db8:ab12:cd34::/64'],
    [60, '2001:db8:ab12:cd30::/60'],
    [127, '2001:db8:ab12:cd34:1:2:3:4/127'],
    [128, '2001:db8:ab12:cd34:1:2:3:5'],
  ])('ipv6Subnet %i groups 2001:db8:ab12:cd34:1:2:3:5 as %s', (subnet, key) => {
    expect(clientKey('2001:db8:ab12:cd34:1:2:3:5', subnet)).toBe(key)
  })

  it('parses exactly what Node takes for IPv6, and prints one canonical text per address', () => {
    const group = fc.oneof(
      fc.constant('0'),
      fc.constant('0000'),
      fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16)),
    )
    const full = fc.array(group, { minLength: 8, maxLength: 8 })
    fc.assert(
      fc.property(
        full,
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 8 }),
        fc.boolean(),
        (groups, at, cut, upper) => {
          // Compress a run of groups with `::` (when it keeps at least one out), maybe in upper case.
          const end = Math.min(8, at + cut)
          let text =
            end - at >= 1
              ? `${groups.slice(0, at).join(':')}::${groups.slice(end).join(':')}`
              : groups.join(':')
          if (upper) text = text.toUpperCase()
          const bytes = parseIPv6(text)
          expect(bytes === undefined, text).toBe(!isIPv6(text))
          if (bytes === undefined) return
          const canonical = formatIPv6(bytes)
          expect(isIPv6(canonical)).toBe(true)
          expect(formatIPv6(parseIPv6(canonical) as Uint8Array)).toBe(canonical)
          expect(parseIPv6(canonical)).toEqual(bytes)
        },
      ),
    )
    fc.assert(
      // Zones aside: Node checks their characters, the parser only drops them.
      fc.property(
        fc.string({ maxLength: 50 }).filter((text) => !text.includes('%')),
        (text) => {
          expect(parseIPv6(text) !== undefined).toBe(isIPv6(text) && text.length <= 45)
        },
      ),
    )
  })

  it('takes bounded time on hostile text and never throws', () => {
    const started = performance.now()
    for (const text of [
      ':'.repeat(100_000),
      `${'1:'.repeat(50_000)}1`,
      `::${'f'.repeat(100_000)}`,
      '%'.repeat(100_000),
    ]) {
      expect(() => clientKey(text)).not.toThrow()
    }
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('tells proxy-like addresses from public ones', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '::1',
      '::ffff:10.0.0.1',
      'fd00::1',
      'fe80::1%lo',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true)
    }
    for (const ip of ['203.0.113.7', '172.32.0.1', '2001:db8::1', '::ffff:8.8.8.8', 'unknown']) {
      expect(isPrivateAddress(ip), ip).toBe(false)
    }
  })

  it('leaves text that is no address to the key hashing', () => {
    expect(parseIPv6('not:an:address')).toBeUndefined()
    expect(clientKey('')).toBeUndefined()
  })
})
