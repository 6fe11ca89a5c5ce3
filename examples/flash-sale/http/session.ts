import { createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** Name of the cookie that carries the signed-in account. */
export const SESSION_COOKIE = 'fs_user'

/** Account ids the demo accepts: short and plain, so they are safe in keys, logs and cookies. */
export const USER_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/

/**
 * The demo's login: the account id in a cookie signed with HMAC-SHA256. No passwords — the
 * point is that the account is something the server vouches for, so the per-account rule
 * cannot be dodged by sending a different id with every request.
 */
export class Sessions {
  readonly #secret: string

  constructor(secret: string) {
    if (secret.length < 8) throw new TypeError('session secret must be at least 8 characters')
    this.#secret = secret
  }

  /** The `Set-Cookie` value signing `user` in. */
  cookie(user: string): string {
    return `${SESSION_COOKIE}=${this.token(user)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=86400`
  }

  /** `user.signature`, as carried in the cookie. */
  token(user: string): string {
    return `${user}.${this.#sign(user)}`
  }

  /** The signed-in account, or undefined for no cookie, a bad signature or a malformed value. */
  user(req: IncomingMessage): string | undefined {
    const header = req.headers.cookie
    if (header === undefined || header.length > 4096) return undefined
    for (const part of header.split(';')) {
      const eq = part.indexOf('=')
      if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue
      const value = part.slice(eq + 1).trim()
      const dot = value.lastIndexOf('.')
      if (dot < 1) return undefined
      const user = value.slice(0, dot)
      if (!USER_PATTERN.test(user)) return undefined
      const given = Buffer.from(value.slice(dot + 1))
      const expected = Buffer.from(this.#sign(user))
      return given.length === expected.length && timingSafeEqual(given, expected) ? user : undefined
    }
    return undefined
  }

  #sign(user: string): string {
    return createHmac('sha256', this.#secret).update(user).digest('base64url')
  }
}
