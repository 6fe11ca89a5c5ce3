import type { ServerResponse } from 'node:http'

/**
 * Calls `settle(failed)` once, when the response is over: `failed` is true for a status of 400
 * or more, and for a response that never finished (the client went away, the connection broke),
 * as express-rate-limit counts them. One listener pair per request, only for adapters set to
 * skip failed or successful requests.
 */
export function whenResponded(res: ServerResponse, settle: (failed: boolean) => void): void {
  let settled = false
  const finished = () => {
    if (settled) return
    settled = true
    res.off('close', closed)
    settle(res.statusCode >= 400)
  }
  const closed = () => {
    if (settled) return
    settled = true
    res.off('finish', finished)
    settle(!res.writableFinished || res.statusCode >= 400)
  }
  res.once('finish', finished)
  res.once('close', closed)
}
