import { describe, expect, it } from 'vitest'
import { checkTrustProxy, MAX_PROXY_HOPS, trustedClient } from '../../../adapters/core/trust-proxy'

describe('trustedClient', () => {
  const peer = '10.0.0.2'
  it('believes no X-Forwarded-For by default', () => {
    expect(trustedClient(peer, '1.1.1.1', false)).toBe(peer)
    expect(trustedClient(peer, '1.1.1.1', 0)).toBe(peer)
  })

  it('with n hops, takes the n-th address from the right', () => {
    expect(trustedClient(peer, '6.6.6.6, 1.1.1.1', 1)).toBe('1.1.1.1')
    expect(trustedClient(peer, '6.6.6.6, 1.1.1.1, 10.0.0.1', 2)).toBe('1.1.1.1')
    // Fewer entries than hops: the leftmost one.
    expect(trustedClient(peer, '1.1.1.1', 3)).toBe('1.1.1.1')
  })

  it('with true, takes the leftmost entry', () => {
    expect(trustedClient(peer, ' , 6.6.6.6, 1.1.1.1', true)).toBe('6.6.6.6')
    expect(trustedClient(peer, '', true)).toBe(peer)
  })

  it('asks a trust function hop by hop and stops at the first it refuses', () => {
    const asked: string[] = []
    const trust = (address: string) => {
      asked.push(address)
      return address.startsWith('10.')
    }
    expect(trustedClient(peer, '6.6.6.6, 1.1.1.1, 10.0.0.1', trust)).toBe('1.1.1.1')
    expect(asked).toEqual([peer, '10.0.0.1', '1.1.1.1'])
  })

  it('a trust function that throws believes no one', () => {
    expect(
      trustedClient(peer, '1.1.1.1', () => {
        throw new Error('bug')
      }),
    ).toBe(peer)
  })

  it('an empty entry ends the walk at the last known address', () => {
    expect(trustedClient(peer, '6.6.6.6,,', 5)).toBe(peer)
  })

  it('a hostile header: an unknown peer is believed by no one, and a long chain is walked a bounded way', () => {
    expect(trustedClient(undefined, '1.1.1.1', true)).toBeUndefined()
    const long = Array.from({ length: 5000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`).join(',')
    let calls = 0
    const everyone = () => {
      calls++
      return true
    }
    expect(trustedClient(peer, long, everyone)).toBeDefined()
    expect(calls).toBe(MAX_PROXY_HOPS)
  })

  it('refuses settings that are no trust setting, by name', () => {
    expect(() => checkTrustProxy('yes', 'x')).toThrow(/x: trustProxy must be/)
    expect(() => checkTrustProxy(-1, 'x')).toThrow(/trustProxy/)
    expect(() => checkTrustProxy(1.5, 'x')).toThrow(/trustProxy/)
    expect(checkTrustProxy(undefined, 'x')).toBe(false)
  })
})
