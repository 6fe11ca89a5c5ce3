import http2, { type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import type { AddressInfo } from 'node:net'
import { parseListenAddress } from '../listen-address'
import {
  encodeGrpcMessage,
  frameMessage,
  GrpcError,
  GrpcStatus,
  PREFIX_BYTES,
  readGrpcTimeout,
} from './grpc-wire'

/**
 * A minimal gRPC server for unary calls, on `node:http2`, written by hand instead of using
 * @grpc/grpc-js: measured on the project's 2-core machine (docs/gateway.md, Speed), a
 * grpc-js server spent about 92 µs of CPU per ShouldRateLimit call, eight times what Diana's
 * own code (mapping, limiter check, answer) costs, so one process could not answer more than
 * about 11 000 calls/s whatever the limiter did. Envoy's rate-limit filter needs one unary
 * method over h2c with prior knowledge (its cluster's `http2_protocol_options`), and that is
 * all this speaks: no TLS, no compression, no streaming, no reflection. Any gRPC client can
 * call it (the tests call it with @grpc/grpc-js and with raw node:http2 frames).
 *
 * Everything a client sends is bounded: message size (checked from the 5-byte prefix, before
 * the message is read), bytes held for incomplete messages across all calls, streams per
 * connection, header list size, connections, the time a call may stay open (its
 * `grpc-timeout`, or {@link UNARY_BOUNDS.callMs}), and the idle time of a connection.
 */

/** Answers one call; called once the request message is complete and the client half-closed. */
export type UnaryMethod = (message: Buffer, call: UnaryCall) => void

/** The answer side of one call. The first of `ok`/`fail` wins; later ones, or after a cancel, do nothing. */
export interface UnaryCall {
  ok(message: Uint8Array): void
  fail(code: number, message: string): void
}

export interface UnaryServerOptions {
  /** `HOST:PORT`, `[IPv6]:PORT` or `:PORT`; port 0 picks a free port. */
  address: string
  /** `:path` (`/package.Service/Method`) → its handler; any other path is UNIMPLEMENTED. */
  methods: ReadonlyMap<string, UnaryMethod>
  bounds?: Partial<UnaryBounds>
}

export interface UnaryServer {
  /** The address listened on, with the real port. */
  address: string
  /** Stops taking connections, lets calls in flight finish (for at most `closeGraceMs`), then resolves. */
  close(): Promise<void>
}

export interface UnaryBounds {
  /** A request message (without its prefix) larger than this is refused with RESOURCE_EXHAUSTED, unread. */
  maxMessageBytes: number
  /** Bytes of incomplete request messages held over all calls; beyond, a call is RESOURCE_EXHAUSTED. */
  maxHeldBytes: number
  /** SETTINGS_MAX_CONCURRENT_STREAMS: calls in flight per connection. */
  maxConcurrentStreams: number
  /** SETTINGS_MAX_HEADER_LIST_SIZE, bytes. */
  maxHeaderListBytes: number
  /** Open connections; more are closed as they arrive. */
  maxConnections: number
  /** The longest a call may stay unanswered when its `grpc-timeout` is longer or absent. */
  callMs: number
  /** A connection with no frames for this long is closed (GOAWAY). */
  idleMs: number
  /** How long `close()` waits for calls in flight before it cuts the connections. */
  closeGraceMs: number
}

export const UNARY_BOUNDS: UnaryBounds = {
  maxMessageBytes: 64 * 1024,
  maxHeldBytes: 16 * 1024 * 1024,
  maxConcurrentStreams: 1024,
  maxHeaderListBytes: 16 * 1024,
  maxConnections: 1024,
  callMs: 10_000,
  idleMs: 300_000,
  closeGraceMs: 5000,
}

const { NGHTTP2_CANCEL } = http2.constants
const OK_HEADERS = { ':status': 200, 'content-type': 'application/grpc' }
const OK_TRAILERS = { 'grpc-status': '0' }
/** Path and encoding names echoed in a grpc-message are cut to this length. */
const ECHO_CHARS = 100

/** What the server shares across its calls. */
interface ServerState {
  readonly bounds: UnaryBounds
  readonly methods: ReadonlyMap<string, UnaryMethod>
  held: number
}

/**
 * One call: the request bytes as they arrive, and its timer. Listeners are module functions
 * reaching the call through the stream, so a call costs no closures.
 */
class Call implements UnaryCall {
  parts: Buffer[] = []
  received = 0
  /** Prefix plus message length, once the prefix has arrived. */
  expected = -1
  /** Bytes of this call counted in `state.held`. */
  held = 0
  answered = false
  timer: NodeJS.Timeout | undefined

  constructor(
    readonly stream: ServerHttp2Stream,
    readonly state: ServerState,
    readonly method: UnaryMethod,
    readonly compressedAllowed: string | undefined,
  ) {}

  ok(message: Uint8Array): void {
    if (this.answered) return
    this.answered = true
    const stream = this.stream
    if (stream.destroyed || stream.headersSent) return
    stream.respond(OK_HEADERS, { waitForTrailers: true })
    stream.once('wantTrailers', sendOkTrailers)
    stream.end(frameMessage(message))
  }

  fail(code: number, message: string): void {
    if (this.answered) return
    this.answered = true
    trailersOnly(this.stream, code, message)
  }

  release(): void {
    this.state.held -= this.held
    this.held = 0
    this.parts = []
  }
}

const CALL = Symbol('diana.grpc.call')
type CallStream = ServerHttp2Stream & { [CALL]?: Call }

/** Starts listening; resolves once bound. */
export async function startUnaryServer(options: UnaryServerOptions): Promise<UnaryServer> {
  const bounds = { ...UNARY_BOUNDS, ...options.bounds }
  const listen = parseListenAddress(options.address, 'address')
  if (typeof listen === 'string') throw new TypeError(`startUnaryServer: ${listen}`)
  const state: ServerState = { bounds, methods: options.methods, held: 0 }
  const server = http2.createServer({
    settings: {
      maxConcurrentStreams: bounds.maxConcurrentStreams,
      maxHeaderListSize: bounds.maxHeaderListBytes,
      enablePush: false,
    },
    maxHeaderListPairs: 64,
    // Streams the client opens past maxConcurrentStreams are refused; this many refusals
    // and the connection is closed (a client ignoring the setting).
    maxSessionRejectedStreams: 100,
  })
  server.maxConnections = bounds.maxConnections
  const sessions = new Set<Http2Session>()
  server.on('session', (session: Http2Session) => {
    sessions.add(session)
    session.on('error', ignore)
    session.once('close', () => sessions.delete(session))
    session.setTimeout(bounds.idleMs, closeSession)
  })
  server.on(
    'stream',
    (stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, raw: string[]) =>
      onStream(stream as CallStream, headers, raw, state),
  )
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  server.on('error', ignore)
  const host = options.address.slice(0, options.address.lastIndexOf(':'))
  const port = (server.address() as AddressInfo).port
  return { address: `${host}:${port}`, close: () => shutdown(server, sessions, bounds.closeGraceMs) }
}

function onStream(
  stream: CallStream,
  headers: http2.IncomingHttpHeaders,
  raw: readonly string[],
  state: ServerState,
): void {
  // A stream reset by the client emits 'error'; the call is simply over.
  stream.on('error', ignore)
  if (headers[':method'] !== 'POST') {
    answerHttp(stream, 405, state)
    return
  }
  const contentType = headers['content-type']
  if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
    // Not gRPC at all: the spec's answer is an HTTP status, which gRPC clients map to a code.
    answerHttp(stream, 415, state)
    return
  }
  if (!isProtoContentType(contentType)) {
    trailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `content-type ${clip(contentType)} is not supported`)
    drain(stream, state)
    return
  }
  // SETTINGS_MAX_HEADER_LIST_SIZE is only advertised: node:http2 enforces its own 64 KiB, and a
  // client that sends before it reads the SETTINGS goes past the bound. Counted as RFC 9113 does.
  if (headerListBytes(raw) > state.bounds.maxHeaderListBytes) {
    trailersOnly(
      stream,
      GrpcStatus.RESOURCE_EXHAUSTED,
      `header list larger than ${state.bounds.maxHeaderListBytes} bytes`,
    )
    drain(stream, state)
    return
  }
  const path = headers[':path'] as string
  const method = state.methods.get(path)
  if (method === undefined) {
    trailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${clip(path)}`)
    drain(stream, state)
    return
  }
  const encoding = headers['grpc-encoding']
  const call = new Call(
    stream,
    state,
    method,
    typeof encoding === 'string' && encoding !== 'identity' ? encoding : undefined,
  )
  stream[CALL] = call
  const timeout = readGrpcTimeout(headers['grpc-timeout'])
  call.timer = setTimeout(
    onDeadline,
    timeout === undefined || timeout > state.bounds.callMs ? state.bounds.callMs : timeout,
    call,
  )
  stream.on('data', onData)
  stream.on('end', onEnd)
  stream.on('close', onClose)
}

/**
 * Names and values plus 32 bytes per field, from the raw list (name, value, name, value...):
 * every field as received, repeated ones included, and cheaper to walk than the object.
 */
function headerListBytes(raw: readonly string[]): number {
  let bytes = 16 * raw.length
  for (let i = 0; i < raw.length; i++) bytes += (raw[i] as string).length
  return bytes
}

/** `application/grpc`, `application/grpc+proto`, either with `;parameters`. */
function isProtoContentType(value: string): boolean {
  const bare = value.indexOf(';') < 0 ? value : value.slice(0, value.indexOf(';'))
  return bare === 'application/grpc' || bare === 'application/grpc+proto'
}

function onData(this: CallStream, chunk: Buffer): void {
  const call = this[CALL] as Call
  if (call.answered) return
  const state = call.state
  call.parts.push(chunk)
  call.received += chunk.length
  if (call.expected < 0) {
    if (call.received < PREFIX_BYTES) {
      hold(call, chunk.length)
      return
    }
    const head = call.parts.length === 1 ? chunk : Buffer.concat(call.parts)
    const compressed = head[0] as number
    const length = head.readUInt32BE(1)
    if (compressed !== 0) {
      if (call.compressedAllowed === undefined || compressed !== 1) {
        // Compressed with no grpc-encoding, or a flag the spec does not define.
        refuse(call, GrpcStatus.INTERNAL, 'a compressed message without grpc-encoding')
        return
      }
      // Answered with the encodings that are accepted (grpc doc/compression.md): identity only.
      call.answered = true
      call.release()
      trailersOnly(
        call.stream,
        GrpcStatus.UNIMPLEMENTED,
        `grpc-encoding ${clip(call.compressedAllowed)} is not supported`,
        true,
      )
      return
    }
    if (length > state.bounds.maxMessageBytes) {
      refuse(
        call,
        GrpcStatus.RESOURCE_EXHAUSTED,
        `request message of ${length} bytes is larger than ${state.bounds.maxMessageBytes}`,
      )
      return
    }
    call.expected = PREFIX_BYTES + length
  }
  if (call.received > call.expected) {
    refuse(call, GrpcStatus.INTERNAL, 'more than one request message for a unary method')
    return
  }
  if (call.received < call.expected) hold(call, chunk.length)
}

/** Counts an incomplete message's bytes against the server's budget, or refuses the call. */
function hold(call: Call, bytes: number): void {
  const state = call.state
  if (state.held + bytes > state.bounds.maxHeldBytes) {
    refuse(call, GrpcStatus.RESOURCE_EXHAUSTED, 'the server holds too many incomplete messages')
    return
  }
  state.held += bytes
  call.held += bytes
}

function onEnd(this: CallStream): void {
  const call = this[CALL] as Call
  if (call.answered) return
  if (call.received !== call.expected) {
    refuse(call, GrpcStatus.INTERNAL, call.received === 0 ? 'no request message' : 'a truncated message')
    return
  }
  const parts = call.parts
  const framed = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)
  call.release()
  try {
    call.method(framed.subarray(PREFIX_BYTES), call)
  } catch (error) {
    call.fail(
      error instanceof GrpcError ? error.code : GrpcStatus.INTERNAL,
      error instanceof Error ? error.message : String(error),
    )
  }
}

function onClose(this: CallStream): void {
  const call = this[CALL] as Call
  clearTimeout(call.timer)
  call.release()
  // A stream closed before its answer (the client cancelled, the connection went): the
  // handler's answer, when it comes, goes nowhere.
  call.answered = true
}

/**
 * The call's time is up: DEADLINE_EXCEEDED if it is unanswered; and a stream the client still
 * keeps open after its answer is cut a deadline later, so it cannot hold a stream slot.
 */
function onDeadline(call: Call): void {
  if (!call.answered) {
    call.fail(GrpcStatus.DEADLINE_EXCEEDED, 'deadline exceeded')
    call.release()
    call.timer = setTimeout(onDeadline, 1000, call)
    return
  }
  if (!call.stream.closed) call.stream.close(NGHTTP2_CANCEL)
}

/** Answers with an error at once and ignores what else the client sends on this stream. */
function refuse(call: Call, code: number, message: string): void {
  call.release()
  call.fail(code, message)
}

/** For a call refused before it had a {@link Call}: discard its bytes, cut it if it lingers. */
function drain(stream: ServerHttp2Stream, state: ServerState): void {
  stream.resume()
  const timer = setTimeout(() => {
    if (!stream.closed) stream.close(NGHTTP2_CANCEL)
  }, state.bounds.callMs)
  stream.once('close', () => clearTimeout(timer))
}

function answerHttp(stream: ServerHttp2Stream, status: number, state: ServerState): void {
  if (stream.headersSent || stream.destroyed) return
  stream.respond({ ':status': status }, { endStream: true })
  drain(stream, state)
}

/** A Trailers-Only answer: one HEADERS frame with the status, ending the stream. */
function trailersOnly(stream: ServerHttp2Stream, code: number, message: string, identityOnly = false): void {
  if (stream.headersSent || stream.destroyed) return
  stream.respond(
    {
      ':status': 200,
      'content-type': 'application/grpc',
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
      ...(identityOnly ? { 'grpc-accept-encoding': 'identity' } : {}),
    },
    { endStream: true },
  )
}

function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS)
}

function clip(text: string): string {
  return text.length > ECHO_CHARS ? `${text.slice(0, ECHO_CHARS)}...` : text
}

function closeSession(this: Http2Session): void {
  this.close()
}

function ignore(): void {}

function shutdown(server: Http2Server, sessions: Set<Http2Session>, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      for (const session of sessions) session.destroy()
    }, graceMs)
    force.unref()
    server.close(() => {
      clearTimeout(force)
      resolve()
    })
    // GOAWAY: no new streams; those in flight are answered, then each connection closes.
    for (const session of sessions) session.close()
  })
}
