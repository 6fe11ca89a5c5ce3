import { createHash } from 'node:crypto'

const MAX_PLAIN_BYTES = 128
// Characters that can never split, forge or re-slot a key (no `|`, `{`, `}`, `*`, spaces, `#`).
const PLAIN = /^[A-Za-z0-9._~@+\-/:=]*$/

/**
 * A subject value as it may appear inside a store key. Short, plain values stay readable;
 * anything long or unusual (unicode, separators, Redis hash-tag braces) becomes `#` and a
 * SHA-256 digest, so a hostile header can neither grow memory nor collide with another key.
 */
export function keyPart(value: string): string {
  if (value.length <= MAX_PLAIN_BYTES && PLAIN.test(value)) return value
  return `#${createHash('sha256').update(value).digest('base64url').slice(0, 27)}`
}
