import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * Signed device ids: `ID.SIGNATURE`, where SIGNATURE is the HMAC-SHA256 of the ID's bytes
 * (UTF-8, which for the printable ASCII ids allowed here is ASCII) under the app's secret,
 * encoded base64url without padding (43 characters). The server hands one out
 * ({@link signDeviceId}); the adapters' `deviceSecret` option then counts only ids it signed,
 * so a bot that invents a fresh id per request stays in its address's bucket.
 */

/** Fewest secret bytes: HMAC-SHA256 with a shorter key is open to guessing. */
export const MIN_DEVICE_SECRET_BYTES = 16
/** Longest ID: keeps signing cheap and the whole value well inside a header. */
export const MAX_DEVICE_ID_LENGTH = 200
/** Longest header value that is verified at all; longer ones are not hashed, they fall back. */
export const MAX_SIGNED_DEVICE_ID_LENGTH = 256
const SIGNATURE_LENGTH = 43
const DEVICE_ID = /^[\x21-\x7e]+$/

export type DeviceSecret = string | Uint8Array

/** The secret as a key, or a TypeError naming `where`'s option. */
export function deviceKey(secret: unknown, where: string): Buffer {
  const key =
    typeof secret === 'string'
      ? Buffer.from(secret, 'utf8')
      : secret instanceof Uint8Array
        ? Buffer.from(secret)
        : undefined
  if (key === undefined) {
    throw new TypeError(`${where}: deviceSecret must be a string or a Buffer (got ${typeof secret})`)
  }
  if (key.length < MIN_DEVICE_SECRET_BYTES) {
    throw new TypeError(
      `${where}: deviceSecret must be at least ${MIN_DEVICE_SECRET_BYTES} bytes (got ${key.length}); use e.g. crypto.randomBytes(32)`,
    )
  }
  return key
}

function signature(id: string, key: Buffer): string {
  return createHmac('sha256', key).update(id, 'utf8').digest('base64url')
}

/**
 * `id` signed for the adapters' `deviceSecret`: `ID.SIGNATURE`. Give it to the client (a
 * cookie, a response body) and have it send the value back in the device header. `id` is 1–200
 * printable ASCII characters (no spaces), e.g. `crypto.randomUUID()`.
 */
export function signDeviceId(id: string, secret: DeviceSecret): string {
  if (typeof id !== 'string' || id.length > MAX_DEVICE_ID_LENGTH || !DEVICE_ID.test(id)) {
    throw new TypeError(
      `signDeviceId: id must be 1-${MAX_DEVICE_ID_LENGTH} printable ASCII characters without spaces`,
    )
  }
  return `${id}.${signature(id, deviceKey(secret, 'signDeviceId'))}`
}

/**
 * The ID of a header value signed with `key`, or undefined for anything else: no signature,
 * a wrong one, or a value too long to be worth hashing. The comparison takes the same time
 * whatever the signature's first wrong character.
 */
export function verifiedDeviceId(value: string, key: Buffer): string | undefined {
  if (value.length > MAX_SIGNED_DEVICE_ID_LENGTH) return undefined
  const dot = value.length - SIGNATURE_LENGTH - 1
  if (dot < 1 || value.charCodeAt(dot) !== 0x2e) return undefined
  const id = value.slice(0, dot)
  if (!DEVICE_ID.test(id)) return undefined
  const given = Buffer.from(value.slice(dot + 1), 'latin1')
  const expected = Buffer.from(signature(id, key), 'latin1')
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined
}
