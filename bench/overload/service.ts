import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Admission } from './admission'
import { SlotPool } from './slot-pool'

/** Queue places of the service itself: large, so only a limiter in front of it turns work away. */
const MAX_QUEUE = 100_000

const SUBJECT = {}

/**
 * The fixed-capacity service over HTTP on a free loopback port: every request takes a slot of
 * a {@link SlotPool}, after asking `admission` when there is one. A denied request is answered
 * 503 at once, as a load shedder does; an admitted one is released when its response has
 * finished or its client has gone.
 */
export function startService(
  slots: number,
  serviceMs: number,
  admission: Admission | undefined,
): Promise<Server> {
  const pool = new SlotPool(slots, serviceMs, MAX_QUEUE)
  const server = createServer((req, res) => {
    req.resume()
    if (admission === undefined) return serve(pool, res)
    admission.check(SUBJECT).then(
      (decision) => {
        const release = decision.release
        if (release) {
          res.once('finish', release)
          res.once('close', release)
        }
        if (decision.allowed) serve(pool, res)
        else shed(res, decision.retryAfterMs)
      },
      () => shed(res, 0),
    )
  })
  server.keepAliveTimeout = 60_000
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

function serve(pool: SlotPool, res: ServerResponse<IncomingMessage>): void {
  const queued = pool.serve(() => {
    res.statusCode = 200
    res.setHeader('content-length', '2')
    res.end('ok')
  })
  if (!queued) shed(res, 0)
}

function shed(res: ServerResponse<IncomingMessage>, retryAfterMs: number): void {
  res.statusCode = 503
  if (retryAfterMs > 0) res.setHeader('retry-after', String(Math.ceil(retryAfterMs / 1000)))
  res.setHeader('content-length', '0')
  res.end()
}
