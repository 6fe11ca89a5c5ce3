import http2, { type Http2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
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
 * the message is read), bytes held for messages not yet handed to their method across all
 * calls, streams per connection and over all connections, header list size, connections, the
 * time a call may stay open (its `grpc-timeout`, or {@link UNARY_BOUNDS.callMs}), the idle
 * time of a connection, and the time `close()` takes.
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
  /**
   * Bytes of request messages held over all calls, counted from the length each prefix declares
   * until the message is handed to its method; beyond, a call is RESOURCE_EXHAUSTED.
   */
  maxHeldBytes: number
  /** SETTINGS_MAX_CONCURRENT_STREAMS: calls in flight per connection. */
  maxConcurrentStreams: number
  /**
   * Streams open over all connections (calls in flight, and refused ones until the client lets
   * go); one more is answered RESOURCE_EXHAUSTED and cut at once.
   */
  maxCalls: number
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
  maxCalls: 16_384,
  maxHeaderListBytes: 16 * 1024,
  maxConnections: 1024,
  callMs: 10_000,
  idleMs: 300_000,
  closeGraceMs: 5000,
}

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants
const OK_HEADERS = { ':status': 200, 'content-type': 'application/grpc' }
const OK_TRAILERS = { 'grpc-status': '0' }
/** Path and encoding names echoed in a grpc-message are cut to this length. */
const ECHO_CHARS = 100

/** What the server shares across its calls. */
interface ServerState {
  readonly bounds: UnaryBounds
  readonly methods: ReadonlyMap<string, UnaryMethod>
  held: number
  /** Streams open, counted against `bounds.maxCalls`. */
  streams: number
}

/**
 * One call: the request bytes as they arrive, and its timer. Listeners are module functions
 * reaching the call through the stream, so a call costs no closures.
 *
 * The message is copied into one buffer of the length its prefix declares (reserved in
 * `state.held` before a byte of it is kept), rather than kept as the chunks node:http2 hands
 * over: a client sending one byte per DATA frame would otherwise make the server hold an
 * object of a hundred bytes or more per byte counted. A message that arrives whole in its
 * first chunk is used as it is.
 */
class Call implements UnaryCall {
  /** The prefix while fewer than its 5 bytes have arrived. */
  head: Buffer | undefined
  headBytes = 0
  /** Message length from the prefix, once it has arrived. */
  expected = -1
  message: Buffer | undefined
  filled = 0
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
    this.head = undefined
    this.message = undefined
  }
}

const CALL = Symbol('diana.grpc.call')
type CallStream = ServerHttp2Stream & { [CALL]?: Call }

/** Starts listening; resolves once bound. */
export async function startUnaryServer(options: UnaryServerOptions): Promise<UnaryServer> {
  const bounds = { ...UNARY_BOUNDS, ...options.bounds }
  const listen = parseListenAddress(options.address, 'address')
  if (typeof listen === 'string') throw new TypeError(`startUnaryServer: ${listen}`)
  const state: ServerState = { bounds, methods: options.methods, held: 0, streams: 0 }
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
  // The sockets themselves, for close(): once a session has been closed gracefully, node:http2's
  // session.destroy() leaves its socket open when the peer never read the GOAWAY or sent a
  // preface (Node 20), and the server would never finish closing.
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
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
  return {
    address: `${host}:${port}`,
    close: () => shutdown(server, sessions, sockets, bounds.closeGraceMs),
  }
}

function onStream(
  stream: CallStream,
  headers: http2.IncomingHttpHeaders,
  raw: readonly string[],
  state: ServerState,
): void {
  // A stream reset by the client emits 'error'; the call is simply over.
  stream.on('error', ignore)
  if (state.streams >= state.bounds.maxCalls) {
    // Not counted, so cut at once: a client that never half-closes cannot keep it open.
    trailersOnly(stream, GrpcStatus.RESOURCE_EXHAUSTED, `the server has ${state.streams} calls in flight`)
    stream.close(NGHTTP2_NO_ERROR)
    return
  }
  state.streams++
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
  let at = 0
  if (call.expected < 0) {
    let head = chunk
    if (call.headBytes > 0 || chunk.length < PREFIX_BYTES) {
      // The prefix split over DATA frames: gathered in 5 bytes of the call's own.
      call.head ??= Buffer.allocUnsafe(PREFIX_BYTES)
      at = Math.min(PREFIX_BYTES - call.headBytes, chunk.length)
      chunk.copy(call.head, call.headBytes, 0, at)
      call.headBytes += at
      if (call.headBytes < PREFIX_BYTES) return
      head = call.head
    } else {
      at = PREFIX_BYTES
    }
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
    // Reserved before a byte is kept, and until the method has the message: a whole message
    // whose END_STREAM never comes is held as surely as a dribbling one.
    if (state.held + length > state.bounds.maxHeldBytes) {
      refuse(call, GrpcStatus.RESOURCE_EXHAUSTED, 'the server holds too many incomplete messages')
      return
    }
    state.held += length
    call.held = length
    call.expected = length
    call.head = undefined
    if (chunk.length - at === length) {
      // The usual case: prefix and message in one DATA frame; no copy.
      call.message = at === 0 ? chunk : chunk.subarray(at)
      call.filled = length
      return
    }
    call.message = Buffer.allocUnsafeSlow(length)
  }
  const bytes = chunk.length - at
  if (call.filled + bytes > call.expected) {
    refuse(call, GrpcStatus.INTERNAL, 'more than one request message for a unary method')
    return
  }
  chunk.copy(call.message as Buffer, call.filled, at)
  call.filled += bytes
}

function onEnd(this: CallStream): void {
  const call = this[CALL] as Call
  if (call.answered) return
  if (call.expected < 0 || call.filled !== call.expected) {
    const none = call.expected < 0 && call.headBytes === 0
    refuse(call, GrpcStatus.INTERNAL, none ? 'no request message' : 'a truncated message')
    return
  }
  const message = call.message as Buffer
  call.release()
  try {
    call.method(message, call)
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
  call.state.streams--
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
  stream.once('close', () => {
    clearTimeout(timer)
    state.streams--
  })
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

function shutdown(
  server: Http2Server,
  sessions: Set<Http2Session>,
  sockets: Set<Socket>,
  graceMs: number,
): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      for (const session of sessions) session.destroy()
      for (const socket of sockets) socket.destroy()
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
