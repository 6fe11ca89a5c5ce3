import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { errorReason } from '../error-reason'
import type { ReadOptions } from './dashboard-options'

/** The header every data and edit request of the page carries; see {@link sameOriginWrite}. */
export const CUSTOM_HEADER = 'x-diana-dashboard'

/** How long the `authorize` hook may take before the request is answered 503. */
const HOOK_TIMEOUT_MS = 5000

/** An identity as logged: one line, bounded, whatever the hook returned. */
function identityOf(text: string): string {
  return text.slice(0, 200).replace(/\p{Cc}/gu, '?')
}

export type Verdict = { ok: true; identity: string } | { ok: false; status: 401 | 403 | 503; message: string }

/**
 * Whether the request may read the data (and, if edits are on, edit): the bearer token compared
 * in constant time, or the user's hook. Digests of both sides are compared, so the comparison
 * takes the same time whatever the length of what was sent.
 */
export async function authenticate(req: IncomingMessage, options: ReadOptions): Promise<Verdict> {
  if (options.token !== undefined) {
    const header = req.headers.authorization
    // The scheme is case-insensitive (RFC 9110, 11.1); the token is not.
    const match =
      typeof header === 'string' && header.slice(0, 7).toLowerCase() === 'bearer '
        ? /^([\x21-\x7e]{1,4096})$/.exec(header.slice(7))
        : null
    if (match === null)
      return { ok: false, status: 401, message: 'send the dashboard token as Authorization: Bearer TOKEN' }
    const sent = createHash('sha256')
      .update(match[1] as string, 'utf8')
      .digest()
    const expected = createHash('sha256').update(options.token).digest()
    if (!timingSafeEqual(sent, expected)) return { ok: false, status: 401, message: 'wrong dashboard token' }
    return { ok: true, identity: 'token' }
  }
  const hook = options.authorize as NonNullable<ReadOptions['authorize']>
  let timer: NodeJS.Timeout | undefined
  try {
    const answer = await Promise.race([
      Promise.resolve().then(() => hook(req)),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), HOOK_TIMEOUT_MS)
      }),
    ])
    if (answer === 'timeout')
      return { ok: false, status: 503, message: 'the authorize hook did not answer in time' }
    if (answer === true) return { ok: true, identity: 'authorize' }
    if (typeof answer === 'string' && answer.length > 0) return { ok: true, identity: identityOf(answer) }
    if (
      answer !== null &&
      typeof answer === 'object' &&
      typeof answer.identity === 'string' &&
      answer.identity.length > 0
    ) {
      return { ok: true, identity: identityOf(answer.identity) }
    }
    return { ok: false, status: 403, message: 'not allowed to see the dashboard' }
  } catch (error) {
    options.logger.warn(
      `diana dashboard: the authorize hook threw, request refused: ${errorReason(error, true)}`,
    )
    return { ok: false, status: 403, message: 'not allowed to see the dashboard' }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * CSRF defence for requests that change something. Auth is never a cookie here, but an
 * `authorize` hook may read one, so: the custom header (a page on another origin cannot send
 * it without a CORS preflight, which this handler never grants), and when the browser says
 * where the request comes from (Origin, Sec-Fetch-Site), it must be this very host.
 * Undefined when the request passes, else why not.
 */
export function sameOriginWrite(req: IncomingMessage): string | undefined {
  if (req.headers[CUSTOM_HEADER] !== '1') return `send the header ${CUSTOM_HEADER}: 1`
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return 'cross-site request refused'
  const origin = req.headers.origin
  if (origin !== undefined) {
    let host: string
    try {
      host = new URL(origin).host
    } catch {
      return 'bad Origin header'
    }
    if (host === '' || host !== req.headers.host) return 'cross-origin request refused'
  }
  return undefined
}
