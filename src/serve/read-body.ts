import type { IncomingMessage } from 'node:http'

/** Largest `POST /check` body taken, in bytes: a subject is a few short fields. */
export const MAX_BODY_BYTES = 16 * 1024

export type BodyResult = { ok: true; text: string } | { ok: false; status: 400 | 413; message: string }

/**
 * The request body as UTF-8, refused as soon as it is known to exceed `limit` bytes (by its
 * Content-Length, or while it arrives): memory per request stays bounded whatever a client
 * sends. How long a slow body may take is the server's `requestTimeout`.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<BodyResult> {
  const tooLarge = { ok: false, status: 413, message: `the body is larger than ${limit} bytes` } as const
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) {
    req.resume()
    return Promise.resolve(tooLarge)
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (result: BodyResult) => {
      if (done) return
      done = true
      req.off('data', onData)
      resolve(result)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        chunks.length = 0
        // The rest is read and dropped: the answer goes out on a connection that is then closed.
        req.resume()
        finish(tooLarge)
        return
      }
      chunks.push(chunk)
    }
    req.on('data', onData)
    req.once('end', () => finish({ ok: true, text: Buffer.concat(chunks, size).toString('utf8') }))
    req.once('error', () => finish({ ok: false, status: 400, message: 'the body could not be read' }))
    req.once('aborted', () => finish({ ok: false, status: 400, message: 'the body was cut short' }))
  })
}
