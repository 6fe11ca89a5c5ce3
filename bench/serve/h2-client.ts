import { connect, type Socket } from 'node:net'
import { SHOULD_RATE_LIMIT_PATH } from '../../src/serve/grpc/load-proto'

/**
 * One gRPC channel of a serve client: unary calls over one HTTP/2 connection (h2c with prior
 * knowledge, as Envoy's cluster speaks to a rate-limit service), multiplexed, speaking the
 * frames directly on a socket. Not @grpc/grpc-js, nor node:http2's client: the clients share
 * the machine with the server they measure, and those cost 200 and 190 µs of CPU per call here
 * (node:http2's `request()` alone builds an AsyncResource and an Error per call), more than
 * the server, so the run measured the clients. Envoy (C++) spends a few µs per call.
 *
 * What it speaks is the least a client needs, and no more: one constant request header block
 * (HPACK literals, no dynamic table), DATA with the pre-framed request, SETTINGS and PING
 * acknowledged, flow control in both directions, GOAWAY and RST_STREAM as errors. It does not
 * decode the server's header blocks: a call is OK when the stream ends (trailers) after one
 * gRPC message arrived, and failed when it ends without one (a Trailers-Only error) or is reset.
 */
export interface H2Channel {
  /** Calls with the framed request; resolves with the reply message (no prefix) or rejects. */
  call(framed: Buffer): Promise<Buffer>
  close(): void
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1')
const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 }
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 }
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4
const MAX_WINDOW = 0x7fff_ffff
// A call not answered in this long fails, so a stuck server cannot hang the run; checked by
// one sweep rather than a timer per call.
const CALL_DEADLINE_MS = 5000

interface Pending {
  resolve: (reply: Buffer) => void
  reject: (error: Error) => void
  chunks: Buffer[]
  started: number
}

export function connectChannel(address: string): H2Channel {
  const colon = address.lastIndexOf(':')
  const host = address.slice(0, colon).replace(/^\[|\]$/g, '')
  const socket: Socket = connect({ host, port: Number(address.slice(colon + 1)), noDelay: true })
  const headerBlock = requestHeaders(address)
  const streams = new Map<number, Pending>()
  let nextId = 1
  let closed: Error | undefined
  // What the server lets us send: its connection window (65 535 until it says more) and, per
  // stream, its initial window; a request waits when either is short.
  let sendWindow = 65_535
  let streamWindow = 65_535
  const waiting: Array<{ id: number; framed: Buffer }> = []
  // What we let the server send: the largest windows, topped up as they are used.
  let received = 0

  socket.write(
    Buffer.concat([
      PREFACE,
      frame(FRAME.SETTINGS, 0, 0, setting(SETTINGS_INITIAL_WINDOW_SIZE, MAX_WINDOW)),
      frame(FRAME.WINDOW_UPDATE, 0, 0, uint32(MAX_WINDOW - 65_535)),
    ]),
  )

  const fail = (error: Error) => {
    closed ??= error
    for (const pending of streams.values()) pending.reject(error)
    streams.clear()
    for (const { id } of waiting.splice(0)) streams.get(id)?.reject(error)
  }
  socket.on('error', fail)
  socket.on('close', () => fail(new Error('connection closed')))

  let buffered: Buffer = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
    let at = 0
    while (buffered.length - at >= 9) {
      const length = buffered.readUIntBE(at, 3)
      if (buffered.length - at < 9 + length) break
      const type = buffered[at + 3] as number
      const flags = buffered[at + 4] as number
      const id = buffered.readUInt32BE(at + 5) & MAX_WINDOW
      onFrame(type, flags, id, buffered.subarray(at + 9, at + 9 + length))
      at += 9 + length
    }
    buffered = at === buffered.length ? Buffer.alloc(0) : buffered.subarray(at)
  })

  function onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    switch (type) {
      case FRAME.DATA: {
        received += payload.length
        // Top the windows up in large steps, as a real client does.
        if (received > 1 << 30) {
          socket.write(frame(FRAME.WINDOW_UPDATE, 0, 0, uint32(received)))
          received = 0
        }
        const pending = streams.get(id)
        if (pending) {
          const pad = flags & FLAG.PADDED ? (payload[0] as number) : -1
          pending.chunks.push(pad < 0 ? payload : payload.subarray(1, payload.length - pad))
        }
        if (flags & FLAG.END_STREAM) finish(id)
        return
      }
      case FRAME.HEADERS:
        if (flags & FLAG.END_STREAM) finish(id)
        return
      case FRAME.RST_STREAM: {
        const pending = streams.get(id)
        streams.delete(id)
        pending?.reject(new Error(`stream reset by the server (code ${payload.readUInt32BE(0)})`))
        return
      }
      case FRAME.SETTINGS:
        if (flags & FLAG.ACK) return
        for (let at = 0; at + 6 <= payload.length; at += 6) {
          if (payload.readUInt16BE(at) === SETTINGS_INITIAL_WINDOW_SIZE)
            streamWindow = payload.readUInt32BE(at + 2)
        }
        socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0)))
        return
      case FRAME.PING:
        if (!(flags & FLAG.ACK)) socket.write(frame(FRAME.PING, FLAG.ACK, 0, payload))
        return
      case FRAME.WINDOW_UPDATE:
        if (id === 0) {
          sendWindow += payload.readUInt32BE(0) & MAX_WINDOW
          flush()
        }
        return
      case FRAME.GOAWAY:
        fail(new Error(`GOAWAY from the server (code ${payload.readUInt32BE(4)})`))
        socket.destroy()
        return
      default:
    }
  }

  function finish(id: number): void {
    const pending = streams.get(id)
    if (!pending) return
    streams.delete(id)
    const body = pending.chunks.length === 1 ? (pending.chunks[0] as Buffer) : Buffer.concat(pending.chunks)
    if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) {
      pending.reject(new Error('the call ended without a reply message (a gRPC error status)'))
      return
    }
    pending.resolve(body.subarray(5))
  }

  function send(id: number, framed: Buffer): void {
    sendWindow -= framed.length
    socket.write(
      Buffer.concat([
        frame(FRAME.HEADERS, FLAG.END_HEADERS, id, headerBlock),
        frame(FRAME.DATA, FLAG.END_STREAM, id, framed),
      ]),
    )
  }

  function flush(): void {
    while (waiting.length > 0 && (waiting[0] as { framed: Buffer }).framed.length <= sendWindow) {
      const next = waiting.shift() as { id: number; framed: Buffer }
      send(next.id, next.framed)
    }
  }

  const sweep = setInterval(() => {
    const now = performance.now()
    for (const [id, pending] of streams) {
      if (now - pending.started <= CALL_DEADLINE_MS) continue
      streams.delete(id)
      socket.write(frame(FRAME.RST_STREAM, 0, id, uint32(0x8)))
      pending.reject(new Error(`no answer in ${CALL_DEADLINE_MS} ms`))
    }
  }, 500)
  sweep.unref()

  return {
    call(framed) {
      return new Promise<Buffer>((resolve, reject) => {
        if (closed) return reject(closed)
        if (framed.length > streamWindow) return reject(new Error('request larger than the stream window'))
        const id = nextId
        nextId += 2
        streams.set(id, { resolve, reject, chunks: [], started: performance.now() })
        if (waiting.length === 0 && framed.length <= sendWindow) send(id, framed)
        else waiting.push({ id, framed })
      })
    },
    close() {
      clearInterval(sweep)
      socket.end(frame(FRAME.GOAWAY, 0, 0, Buffer.concat([uint32(0), uint32(0)])))
    },
  }
}

function frame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + payload.length)
  out.writeUIntBE(payload.length, 0, 3)
  out[3] = type
  out[4] = flags
  out.writeUInt32BE(id, 5)
  payload.copy(out, 9)
  return out
}

function uint32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4)
  out.writeUInt32BE(value >>> 0, 0)
  return out
}

function setting(id: number, value: number): Buffer {
  const out = Buffer.allocUnsafe(6)
  out.writeUInt16BE(id, 0)
  out.writeUInt32BE(value, 2)
  return out
}

/**
 * The request's header block, the same for every call: HPACK (RFC 7541) static-table entries
 * and literals "without indexing", so neither side keeps a dynamic table for it. The headers
 * are Envoy's for a gRPC call, its filter's timeout as grpc-timeout.
 */
function requestHeaders(authority: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x83]), // :method POST (static 3)
    Buffer.from([0x86]), // :scheme http (static 6)
    literal(4, SHOULD_RATE_LIMIT_PATH), // :path (static name 4)
    literal(1, authority), // :authority (static name 1)
    literal(31, 'application/grpc'), // content-type (static name 31)
    literal(0, 'trailers', 'te'),
    literal(0, '5S', 'grpc-timeout'),
  ])
}

/** A literal header field without indexing: an indexed name (`index`) or a new one (`name`). */
function literal(index: number, value: string, name?: string): Buffer {
  const parts = [integer(index, 4, 0x00)]
  if (name !== undefined) parts.push(text(name))
  parts.push(text(value))
  return Buffer.concat(parts)
}

function text(value: string): Buffer {
  const bytes = Buffer.from(value, 'latin1')
  return Buffer.concat([integer(bytes.length, 7, 0x00), bytes])
}

/** An HPACK integer with an `bits`-bit prefix, the bits above the prefix set to `high`. */
function integer(value: number, bits: number, high: number): Buffer {
  const max = (1 << bits) - 1
  if (value < max) return Buffer.from([high | value])
  const out = [high | max]
  let rest = value - max
  while (rest >= 128) {
    out.push((rest & 127) | 128)
    rest >>= 7
  }
  out.push(rest)
  return Buffer.from(out)
}
