import type { IncomingMessage } from 'node:http'
import { hint } from '../did-you-mean'
import type { Logger } from '../logger'

/**
 * Who a request is, as the `authorize` hook says: `false` (or undefined/null) refuses it
 * (403), `true` admits it as 'authorize', a string or `{ identity }` admits it under that name
 * (which edits are logged with).
 */
export type Authorization = boolean | string | { identity: string } | null | undefined

export interface DashboardOptions {
  /**
   * The secret a browser or script must send as `Authorization: Bearer TOKEN` to read the data
   * or edit rules; at least 16 characters. Give this or {@link authorize}.
   */
  token?: string
  /**
   * Decides who may see the data (and edit, with {@link allowEdits}) instead of a token, e.g.
   * from your own session. Called for every data and edit request; given this, no token is
   * checked.
   */
  authorize?: (req: IncomingMessage) => Authorization | Promise<Authorization>
  /**
   * Let the page edit the rules (validated, shown as a diff, then applied where they come from).
   * @default false
   */
  allowEdits?: boolean
  /**
   * Show the values of denied keys (account names, addresses). They may be personal data;
   * otherwise each key is shown as a stable pseudonym.
   * @default false
   */
  showKeys?: boolean
  /**
   * The URL path the handler is mounted at, when the framework passes it the whole URL
   * (node:http, Koa, a Fastify catch-all route). Express's `app.use(path, handler)` strips the
   * path and sets `req.originalUrl`, so there it is not needed.
   * @default '' (the handler sees its own paths: `/`, `/api/state` ...)
   */
  basePath?: string
  /** Keys kept per rule in the top denied keys (a Space-Saving sketch). 1 to 100. @default 10 */
  topK?: number
  /** Share of a rule's limit from which an allowed request counts as near the limit. @default 0.8 */
  nearLimitRatio?: number
  /** Live streams open at once (one per open page); more are refused with 503. 1 to 100. @default 8 */
  maxStreams?: number
  /** Largest rule edit taken, in bytes. @default 262144 (256 KiB) */
  maxEditBytes?: number
  /** Where edits (who and the diff) and refused hooks are logged. @default console */
  logger?: Logger
  /** Milliseconds since the epoch; tests inject a fake clock. @default Date.now */
  now?: () => number
}

export interface ReadOptions {
  token: Buffer | undefined
  authorize: DashboardOptions['authorize']
  allowEdits: boolean
  showKeys: boolean
  basePath: string
  topK: number
  nearLimitRatio: number
  maxStreams: number
  maxEditBytes: number
  logger: Logger
  now: () => number
}

const NAMES = [
  'token',
  'authorize',
  'allowEdits',
  'showKeys',
  'basePath',
  'topK',
  'nearLimitRatio',
  'maxStreams',
  'maxEditBytes',
  'logger',
  'now',
]

function wholeIn(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `dashboard: ${name} must be a whole number from ${min} to ${max} (got ${String(value)})`,
    )
  }
  return value
}

/** Reads and checks the options; a TypeError names the bad one. */
export function readDashboardOptions(options: DashboardOptions): ReadOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(
      'dashboard: options must be an object such as { token: process.env.DIANA_DASHBOARD_TOKEN }',
    )
  }
  for (const key of Object.keys(options)) {
    if (!NAMES.includes(key)) throw new TypeError(`dashboard: unknown option "${key}"${hint(key, NAMES)}`)
  }
  const { token, authorize } = options
  if (token !== undefined && authorize !== undefined) {
    throw new TypeError('dashboard: give token or authorize, not both (authorize may check a token itself)')
  }
  if (token === undefined && authorize === undefined) {
    throw new TypeError(
      'dashboard: refusing to serve rate-limit data to anyone: give { token } (at least 16 characters, sent as Authorization: Bearer) or an { authorize(req) } hook',
    )
  }
  // Only what a client can send after `Bearer `: a space, a newline (a secret file read with
  // its last line break) or a non-ASCII letter would make a token no request could ever match.
  if (token !== undefined && (typeof token !== 'string' || !/^[\x21-\x7e]{16,4096}$/.test(token))) {
    throw new TypeError(
      'dashboard: token must be 16 to 4096 printable ASCII characters, no spaces or line breaks (e.g. 32 random bytes in hex)',
    )
  }
  if (authorize !== undefined && typeof authorize !== 'function') {
    throw new TypeError('dashboard: authorize must be a function (req) => identity | boolean')
  }
  for (const flag of ['allowEdits', 'showKeys'] as const) {
    if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
      throw new TypeError(`dashboard: ${flag} must be true or false`)
    }
  }
  const basePath = options.basePath ?? ''
  if (typeof basePath !== 'string' || !/^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$/.test(basePath)) {
    throw new TypeError(
      `dashboard: basePath must be a path such as '/ops' with no trailing slash (got ${JSON.stringify(basePath)})`,
    )
  }
  const ratio = options.nearLimitRatio ?? 0.8
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    throw new TypeError(`dashboard: nearLimitRatio must be above 0 and at most 1 (got ${String(ratio)})`)
  }
  const logger = options.logger ?? console
  if (typeof logger?.warn !== 'function')
    throw new TypeError('dashboard: logger must have a warn(message) method')
  const now = options.now ?? Date.now
  if (typeof now !== 'function')
    throw new TypeError('dashboard: now must be a function returning milliseconds')
  return {
    token: token === undefined ? undefined : Buffer.from(token, 'utf8'),
    authorize,
    allowEdits: options.allowEdits ?? false,
    showKeys: options.showKeys ?? false,
    basePath,
    topK: wholeIn('topK', options.topK, 10, 1, 100),
    nearLimitRatio: ratio,
    maxStreams: wholeIn('maxStreams', options.maxStreams, 8, 1, 100),
    maxEditBytes: wholeIn('maxEditBytes', options.maxEditBytes, 262_144, 1024, 4_194_304),
    logger,
    now,
  }
}
