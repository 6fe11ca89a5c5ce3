import { createHash } from 'node:crypto'

const MAX_PLAIN_LENGTH = 128

/**
 * A subject value as it may appear inside a store key. Short, plain values stay readable;
 * anything long or unusual (unicode, separators, Redis hash-tag braces) becomes `#` and a
 * SHA-256 digest, so a hostile header can neither grow memory nor collide with another key.
 */
export function keyPart(value: string): string {
  return value.length <= MAX_PLAIN_LENGTH && isPlain(value) ? value : digest(value)
}

function digest(value: string): string {
  return `#${createHash('sha256').update(value).digest('base64url').slice(0, 27)}`
}

/**
 * Only characters that can never split, forge or re-slot a key: letters, digits and
 * `. _ ~ @ + - / : =` (no `|`, `{`, `}`, `*`, `#`, spaces). A table lookup, because this runs
 * for every dimension of every check and beats a regular expression on short ids.
 */
const PLAIN = new Uint8Array(128)
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._~@+-/:=') {
  PLAIN[char.charCodeAt(0)] = 1
}

function isPlain(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    if (PLAIN[value.charCodeAt(i)] !== 1) return false
  }
  return true
}
