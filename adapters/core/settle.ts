import type { RawResponse } from './raw-response'

/**
 * Calls `settle(failed)` once the response has been sent in full: `failed` is true for a status
 * of 400 or more. A response that never finished (the client went away, the connection broke)
 * is never settled, so its unit stays counted. express-rate-limit counts such a request as
 * failed, and so refunds it under `skipFailedRequests`; here a client could then run the handler
 * without limit by hanging up before each answer, so it is not.
 */
export function whenResponded(res: RawResponse, settle: (failed: boolean) => void): void {
  const finished = () => {
    res.off('close', closed)
    settle(res.statusCode >= 400)
  }
  const closed = () => {
    res.off('finish', finished)
  }
  res.once('finish', finished)
  res.once('close', closed)
}
