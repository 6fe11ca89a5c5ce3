import type { RawResponse } from './raw-response'

/**
 * Holds a request for `ms` (leaky-bucket shaping). Resolves true when the wait is over and the
 * client is still there; false as soon as the client goes away, so an abandoned request neither
 * keeps a timer nor reaches the handler.
 */
export function hold(ms: number, res: RawResponse): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return Promise.resolve(false)
  return new Promise((resolve) => {
    const gone = () => {
      clearTimeout(timer)
      resolve(false)
    }
    const timer = setTimeout(() => {
      res.off('close', gone)
      resolve(!res.destroyed)
    }, ms)
    res.once('close', gone)
  })
}
