import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { deviceKey, signDeviceId, verifiedDeviceId } from '../src/device-id'
import { signDeviceId as fromPackage } from '../src/index'

const SECRET = 'sixteen bytes!!!'

describe('signed device ids', () => {
  it('are ID.SIGNATURE with an unpadded base64url HMAC-SHA256 over the ID, as documented', () => {
    const expected = createHmac('sha256', SECRET).update('phone-1').digest('base64url')
    expect(signDeviceId('phone-1', SECRET)).toBe(`phone-1.${expected}`)
    expect(expected).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(signDeviceId('phone-1', Buffer.from(SECRET))).toBe(`phone-1.${expected}`)
    expect(fromPackage).toBe(signDeviceId)
  })

  it('verify only with the same secret and the whole signature', () => {
    const key = deviceKey(SECRET, 'test')
    const signed = signDeviceId('phone-1', SECRET)
    expect(verifiedDeviceId(signed, key)).toBe('phone-1')
    expect(verifiedDeviceId(signed, deviceKey('another secret!!', 'test'))).toBeUndefined()
    expect(verifiedDeviceId(signed.slice(0, -1), key)).toBeUndefined()
    expect(verifiedDeviceId(`${signed}A`, key)).toBeUndefined()
    expect(verifiedDeviceId(`x${signed}`, key)).toBeUndefined()
    expect(verifiedDeviceId('phone-1', key)).toBeUndefined()
    expect(verifiedDeviceId('', key)).toBeUndefined()
    expect(verifiedDeviceId(`.${signed.slice(signed.indexOf('.') + 1)}`, key)).toBeUndefined()
  })

  it('refuse ids that are not printable ASCII, and secrets under 16 bytes', () => {
    for (const id of ['', 'with space', 'ünïcode', 'x'.repeat(201)]) {
      expect(() => signDeviceId(id, SECRET), id).toThrow(/id must be 1-200 printable ASCII/)
    }
    expect(() => signDeviceId('a', 'fifteen bytes!!')).toThrow(
      /deviceSecret must be at least 16 bytes \(got 15\)/,
    )
  })
})
