import http2, { type ClientHttp2Session } from 'node:http2'

/**
 * A second gRPC client, independent of @grpc/grpc-js: node:http2 with the bytes and headers
 * written by hand, so a test can send what no well-behaved client would (a wrong content-type,
 * a compressed flag, a truncated or oversized frame, a stream that never ends) and read every
 * header and trailer of the answer.
 */
export interface RawAnswer {
  /** `:status` and the other response headers (for a Trailers-Only answer: grpc-status too). */
  headers: http2.IncomingHttpHeaders
  trailers: http2.IncomingHttpHeaders | undefined
  data: Buffer
  /** grpc-status from the trailers or, Trailers-Only, from the headers. */
  grpcStatus: number | undefined
  grpcMessage: string | undefined
  /** RST_STREAM code, 0 when the stream ended normally. */
  rstCode: number
}

export const RLS_PATH = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit'
export const GRPC_HEADERS = {
  ':method': 'POST',
  ':path': RLS_PATH,
  'content-type': 'application/grpc',
  te: 'trailers',
}

export function connectRaw(address: string): ClientHttp2Session {
  const session = http2.connect(`http://${address}`)
  session.on('error', () => {})
  return session
}

/** `message` with the 5-byte gRPC prefix; `flag` 1 marks it compressed, `length` may lie. */
export function framed(message: Uint8Array, flag = 0, length = message.length): Buffer {
  const out = Buffer.alloc(5 + message.length)
  out[0] = flag
  out.writeUInt32BE(length, 1)
  out.set(message, 5)
  return out
}

/**
 * One call: `headers` (GRPC_HEADERS by default) then `body`; the stream is half-closed after
 * it unless `end` is false. Resolves when the stream closes.
 */
export function rawCall(
  session: ClientHttp2Session,
  body: Buffer | undefined,
  options: { headers?: http2.OutgoingHttpHeaders; end?: boolean } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(options.headers ?? GRPC_HEADERS, { endStream: false })
    let headers: http2.IncomingHttpHeaders = {}
    let trailers: http2.IncomingHttpHeaders | undefined
    const chunks: Buffer[] = []
    stream.on('response', (h) => {
      headers = h
    })
    stream.on('trailers', (t) => {
      trailers = t
    })
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('error', () => {})
    stream.on('close', () => {
      const source = trailers ?? headers
      const status = source['grpc-status']
      const message = source['grpc-message']
      resolve({
        headers,
        trailers,
        data: Buffer.concat(chunks),
        grpcStatus: status === undefined ? undefined : Number(status),
        grpcMessage: typeof message === 'string' ? decodeURIComponent(message) : undefined,
        rstCode: stream.rstCode ?? 0,
      })
    })
    session.once('error', reject)
    if (body !== undefined) stream.write(body)
    if (options.end !== false) stream.end()
  })
}
