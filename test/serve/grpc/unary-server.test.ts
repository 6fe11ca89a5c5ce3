import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createLimiter } from '../../../src/limiter'
import { encodeGrpcMessage, readGrpcTimeout } from '../../../src/serve/grpc/grpc-wire'
import { loadRlsMessages } from '../../../src/serve/grpc/load-proto'
import { startRlsServer } from '../../../src/serve/grpc/rls-server'
import {
  startUnaryServer,
  type UnaryBounds,
  type UnaryCall,
  type UnaryServer,
} from '../../../src/serve/grpc/unary-server'
import { connectRaw, framed, GRPC_HEADERS, RLS_PATH, rawCall } from './raw-h2'

/**
 * The gRPC protocol edges of diana serve's own HTTP/2 server (src/serve/grpc/unary-server.ts),
 * driven by raw node:http2 streams: what a broken or hostile client sends is answered with the
 * status the gRPC spec names, bounded, and the server goes on answering everyone else.
 */
const ECHO = '/test.Echo/Echo'
const NEVER = '/test.Echo/Never'
const opened: Array<{ close(): unknown }> = []
const pendingCalls: UnaryCall[] = []

afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close()
  pendingCalls.length = 0
})

async function echoServer(bounds: Partial<UnaryBounds> = {}): Promise<UnaryServer> {
  const server = await startUnaryServer({
    address: '127.0.0.1:0',
    methods: new Map([
      [ECHO, (message: Buffer, call: UnaryCall) => call.ok(Buffer.from(message))],
      [NEVER, (_message: Buffer, call: UnaryCall) => void pendingCalls.push(call)],
    ]),
    bounds,
  })
  opened.push(server)
  return server
}

function session(address: string) {
  const raw = connectRaw(address)
  opened.push({ close: () => raw.destroy() })
  return raw
}

const at = (path: string) => ({ ...GRPC_HEADERS, ':path': path })

async function stillEchoes(address: string): Promise<void> {
  const answer = await rawCall(session(address), framed(Buffer.from('ping')), { headers: at(ECHO) })
  expect(answer.grpcStatus).toBe(0)
  expect(answer.data).toEqual(framed(Buffer.from('ping')))
}

describe('unary gRPC server: what a client sees', () => {
  it('answers a call with 200, application/grpc, one framed message and grpc-status 0 in the trailers', async () => {
    const server = await echoServer()
    const answer = await rawCall(session(server.address), framed(Buffer.from('hello')), { headers: at(ECHO) })
    expect(answer.headers[':status']).toBe(200)
    expect(answer.headers['content-type']).toBe('application/grpc')
    expect(answer.headers['grpc-status']).toBeUndefined()
    expect(answer.data).toEqual(framed(Buffer.from('hello')))
    expect(answer.trailers?.['grpc-status']).toBe('0')
  })

  it('accepts application/grpc+proto and parameters, a message split over many DATA frames, and an empty message', async () => {
    const server = await echoServer()
    const raw = session(server.address)
    const proto = await rawCall(raw, framed(Buffer.from('x')), {
      headers: { ...at(ECHO), 'content-type': 'application/grpc+proto; charset=utf-8' },
    })
    expect(proto.grpcStatus).toBe(0)
    const message = Buffer.alloc(3000, 7)
    const stream = raw.request(at(ECHO))
    const whole = framed(message)
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    for (let i = 0; i < whole.length; i += 2) stream.write(whole.subarray(i, i + 2))
    stream.end()
    await new Promise((resolve) => stream.on('close', resolve))
    expect(Buffer.concat(chunks)).toEqual(whole)
    expect((await rawCall(raw, framed(Buffer.alloc(0)), { headers: at(ECHO) })).data).toEqual(
      framed(Buffer.alloc(0)),
    )
  })

  it('answers an unknown method UNIMPLEMENTED, Trailers-Only, and keeps the connection', async () => {
    const server = await echoServer()
    const raw = session(server.address)
    const answer = await rawCall(raw, framed(Buffer.from('x')), { headers: at('/test.Echo/Nope') })
    expect(answer.headers[':status']).toBe(200)
    expect(answer.headers['grpc-status']).toBe('12')
    expect(answer.trailers).toBeUndefined()
    expect(answer.data.length).toBe(0)
    expect(answer.grpcMessage).toBe('unknown method /test.Echo/Nope')
    expect((await rawCall(raw, framed(Buffer.from('y')), { headers: at(ECHO) })).grpcStatus).toBe(0)
  })

  it('answers HTTP 415 to a content-type that is not gRPC, UNIMPLEMENTED to another codec, 405 to GET', async () => {
    const server = await echoServer()
    const raw = session(server.address)
    const plain = await rawCall(raw, framed(Buffer.from('x')), {
      headers: { ...at(ECHO), 'content-type': 'text/plain' },
    })
    expect(plain.headers[':status']).toBe(415)
    const json = await rawCall(raw, framed(Buffer.from('x')), {
      headers: { ...at(ECHO), 'content-type': 'application/grpc+json' },
    })
    expect(json.grpcStatus).toBe(12)
    expect(json.grpcMessage).toBe('content-type application/grpc+json is not supported')
    const get = await rawCall(raw, undefined, { headers: { ':method': 'GET', ':path': ECHO } })
    expect(get.headers[':status']).toBe(405)
    await stillEchoes(server.address)
  })

  it('refuses a compressed message: UNIMPLEMENTED naming identity for an encoding it lacks, INTERNAL without one', async () => {
    const server = await echoServer()
    const raw = session(server.address)
    const gzip = await rawCall(raw, framed(Buffer.from('x'), 1), {
      headers: { ...at(ECHO), 'grpc-encoding': 'gzip' },
    })
    expect(gzip.grpcStatus).toBe(12)
    expect(gzip.headers['grpc-accept-encoding']).toBe('identity')
    const bare = await rawCall(raw, framed(Buffer.from('x'), 1), { headers: at(ECHO) })
    expect(bare.grpcStatus).toBe(13)
    // A client that only offers gzip but sends plain messages is answered as usual.
    const offered = await rawCall(raw, framed(Buffer.from('x')), {
      headers: { ...at(ECHO), 'grpc-encoding': 'gzip' },
    })
    expect(offered.grpcStatus).toBe(0)
  })

  it('refuses a message over the bound from its prefix alone, without waiting for the bytes', async () => {
    const server = await echoServer({ maxMessageBytes: 1000 })
    const raw = session(server.address)
    // The prefix claims 1 GB; the client sends 10 bytes of it and never ends the stream.
    const answer = await rawCall(raw, framed(Buffer.alloc(10), 0, 1_000_000_000), {
      headers: at(ECHO),
      end: false,
    })
    expect(answer.grpcStatus).toBe(8)
    expect(answer.grpcMessage).toBe('request message of 1000000000 bytes is larger than 1000')
    await stillEchoes(server.address)
  })

  it.each([
    ['a truncated message', framed(Buffer.alloc(10), 0, 100), 'a truncated message'],
    ['a truncated prefix', Buffer.from([0, 0, 0]), 'a truncated message'],
    ['no message at all', undefined, 'no request message'],
    [
      'two messages on a unary call',
      Buffer.concat([framed(Buffer.from('a')), framed(Buffer.from('b'))]),
      'more than one request message for a unary method',
    ],
  ])('answers %s INTERNAL', async (_name, body, message) => {
    const server = await echoServer()
    const answer = await rawCall(session(server.address), body, { headers: at(ECHO) })
    expect(answer.grpcStatus).toBe(13)
    expect(answer.grpcMessage).toBe(message)
    await stillEchoes(server.address)
  })

  it('honours grpc-timeout: a call unanswered in time gets DEADLINE_EXCEEDED', async () => {
    const server = await echoServer({ callMs: 60_000 })
    const started = performance.now()
    const answer = await rawCall(session(server.address), framed(Buffer.from('x')), {
      headers: { ...at(NEVER), 'grpc-timeout': '100m' },
    })
    expect(answer.grpcStatus).toBe(4)
    const waited = performance.now() - started
    expect(waited).toBeGreaterThanOrEqual(90)
    // Its own 100 ms, not the server's bound on every call.
    expect(waited).toBeLessThan(5000)
    expect(pendingCalls).toHaveLength(1)
    // The handler's late answer goes nowhere and does not throw.
    pendingCalls[0]?.ok(Buffer.from('late'))
    await stillEchoes(server.address)
  })

  it('cuts streams that are opened and never sent on, and answers other connections meanwhile', async () => {
    const server = await echoServer({ callMs: 300, maxConcurrentStreams: 8 })
    const silent = session(server.address)
    const hung = Array.from({ length: 8 }, () =>
      rawCall(silent, undefined, { headers: at(ECHO), end: false }),
    )
    // The slots of the silent connection are full; another connection is answered at once.
    await stillEchoes(server.address)
    const answers = await Promise.all(hung)
    for (const answer of answers) expect(answer.grpcStatus).toBe(4)
    // Their slots are free again: the same connection is answered.
    expect((await rawCall(silent, framed(Buffer.from('z')), { headers: at(ECHO) })).grpcStatus).toBe(0)
  })

  it('holds a bounded number of bytes of incomplete messages over all calls', async () => {
    const server = await echoServer({ maxHeldBytes: 1000, maxMessageBytes: 900, callMs: 500 })
    const raw = session(server.address)
    // Two dribbling calls: the first holds 805 bytes, the second would pass the 1000-byte budget.
    const first = rawCall(raw, framed(Buffer.alloc(800), 0, 900), { headers: at(ECHO), end: false })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = await rawCall(raw, framed(Buffer.alloc(800), 0, 900), { headers: at(ECHO), end: false })
    expect(second.grpcStatus).toBe(8)
    expect(second.grpcMessage).toBe('the server holds too many incomplete messages')
    expect((await first).grpcStatus).toBe(4)
    // The first call's bytes were given back when it ended: a large message fits again.
    const whole = await rawCall(raw, framed(Buffer.alloc(850)), { headers: at(ECHO) })
    expect(whole.grpcStatus).toBe(0)
  })

  it('counts a whole message still waiting for its END_STREAM against the held bytes', async () => {
    const server = await echoServer({ maxHeldBytes: 1000, maxMessageBytes: 900, callMs: 500 })
    const raw = session(server.address)
    // Complete messages that are never half-closed stay with the server until their call ends.
    const first = rawCall(raw, framed(Buffer.alloc(600)), { headers: at(ECHO), end: false })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = await rawCall(raw, framed(Buffer.alloc(600)), { headers: at(ECHO), end: false })
    expect(second.grpcStatus).toBe(8)
    expect(second.grpcMessage).toBe('the server holds too many incomplete messages')
    expect((await first).grpcStatus).toBe(4)
  })

  it('reserves the length a prefix declares, so calls that send a prefix alone are bounded too', async () => {
    const server = await echoServer({ maxHeldBytes: 1000, maxMessageBytes: 900, callMs: 500 })
    const raw = session(server.address)
    const first = rawCall(raw, framed(Buffer.alloc(0), 0, 800), { headers: at(ECHO), end: false })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const second = await rawCall(raw, framed(Buffer.alloc(0), 0, 300), { headers: at(ECHO), end: false })
    expect(second.grpcStatus).toBe(8)
    expect((await first).grpcStatus).toBe(4)
    // The reservation is given back when the call ends.
    expect((await rawCall(raw, framed(Buffer.alloc(850)), { headers: at(ECHO) })).grpcStatus).toBe(0)
  })

  it('bounds the calls in flight over all connections, refusing one more at once', async () => {
    const server = await echoServer({ maxCalls: 4 })
    const [a, b] = [session(server.address), session(server.address)]
    const held = [a, a, b, b].map((raw) => rawCall(raw, framed(Buffer.from('x')), { headers: at(NEVER) }))
    while (pendingCalls.length < 4) await new Promise((resolve) => setTimeout(resolve, 10))
    // Refused and cut at once, even though this client never half-closes its stream.
    const refused = await rawCall(session(server.address), framed(Buffer.from('y')), {
      headers: at(ECHO),
      end: false,
    })
    expect(refused.grpcStatus).toBe(8)
    expect(refused.grpcMessage).toBe('the server has 4 calls in flight')
    for (const call of pendingCalls) call.ok(Buffer.from('done'))
    for (const answer of await Promise.all(held)) expect(answer.grpcStatus).toBe(0)
    await stillEchoes(server.address)
  })

  it('survives a client speaking HTTP/1.1, and a header list over the bound', async () => {
    const server = await echoServer({ maxHeaderListBytes: 4096 })
    const [host, port] = [
      server.address.slice(0, server.address.lastIndexOf(':')),
      server.address.split(':').pop(),
    ]
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), host, () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
      socket.on('error', () => resolve())
      socket.on('close', () => resolve())
      socket.resume()
    })
    // Sent before the server's SETTINGS arrive, so the client does not hold it back itself.
    const big = await rawCall(session(server.address), framed(Buffer.from('x')), {
      headers: { ...at(ECHO), 'x-big': 'b'.repeat(10_000) },
    })
    expect(big.grpcStatus).toBe(8)
    expect(big.grpcMessage).toBe('header list larger than 4096 bytes')
    await stillEchoes(server.address)
  })

  it('answers the calls in flight when closed, then takes no more', async () => {
    const server = await echoServer()
    const raw = session(server.address)
    const inFlight = rawCall(raw, framed(Buffer.from('x')), { headers: at(NEVER) })
    await new Promise((resolve) => setTimeout(resolve, 50))
    const closed = server.close()
    pendingCalls[0]?.ok(Buffer.from('answered'))
    const answer = await inFlight
    expect(answer.grpcStatus).toBe(0)
    expect(answer.data).toEqual(framed(Buffer.from('answered')))
    await closed
    const late = connectRaw(server.address)
    opened.push({ close: () => late.destroy() })
    const after = await rawCall(late, framed(Buffer.from('y')), { headers: at(ECHO) }).catch(() => undefined)
    expect(after?.grpcStatus).toBeUndefined()
  })
})

describe('unary gRPC server: closing', () => {
  it('closes within closeGraceMs whatever the peers do: a silent socket, a call never answered', async () => {
    const server = await echoServer({ closeGraceMs: 200 })
    const port = Number(server.address.split(':').pop())
    // Connected, but never sends the HTTP/2 preface nor reads the server's GOAWAY.
    const silent = connect(port, '127.0.0.1')
    silent.on('error', () => {})
    opened.push({ close: () => silent.destroy() })
    await new Promise((resolve) => silent.once('connect', resolve))
    const stuck = rawCall(session(server.address), framed(Buffer.from('x')), { headers: at(NEVER) })
    while (pendingCalls.length < 1) await new Promise((resolve) => setTimeout(resolve, 10))
    const started = performance.now()
    const outcome = await Promise.race([
      server.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open after 3 s'), 3000)),
    ])
    expect(outcome).toBe('closed')
    expect(performance.now() - started).toBeGreaterThanOrEqual(150)
    // close() resolves once every connection is gone, the silent one included.
    expect((await stuck).grpcStatus).toBeUndefined()
  })
})

describe('ShouldRateLimit from a second, independent client', () => {
  it('answers raw node:http2 frames carrying a protobufjs-encoded request, and percent-encodes grpc-message', async () => {
    const limiter = createLimiter({
      rules: [{ name: 'per-ip', dimension: 'ip', algorithm: 'fixed-window', limit: 5, window: '1m' }],
    })
    opened.push(limiter)
    const server = await startRlsServer({
      address: '127.0.0.1:0',
      limiter,
      descriptors: { remote_address: 'ip' },
      domains: ['edge'],
    })
    opened.push(server)
    const { RateLimitRequest, RateLimitResponse } = loadRlsMessages()
    const request = (domain: string) =>
      framed(
        RateLimitRequest.encode({
          domain,
          descriptors: [{ entries: [{ key: 'remote_address', value: '10.0.0.1' }] }],
          hits_addend: 2,
        }).finish(),
      )
    const raw = session(server.address)
    const answer = await rawCall(raw, request('edge'), { headers: { ...GRPC_HEADERS, ':path': RLS_PATH } })
    expect(answer.grpcStatus).toBe(0)
    const reply = RateLimitResponse.toObject(RateLimitResponse.decode(answer.data.subarray(5)), {
      enums: String,
    })
    expect(reply.overall_code).toBe('OK')
    expect(reply.statuses[0].limit_remaining).toBe(3)
    const refused = await rawCall(raw, request('café ✓'))
    expect(refused.grpcStatus).toBe(3)
    expect(refused.headers['grpc-message']).toBe('unknown domain "caf%C3%A9 %E2%9C%93"')
    expect(refused.grpcMessage).toBe('unknown domain "café ✓"')
    // Bytes that are not a RateLimitRequest: INTERNAL, as gRPC answers what it cannot decode.
    const garbage = await rawCall(raw, framed(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x12])))
    expect(garbage.grpcStatus).toBe(13)
  })
})

describe('grpc-timeout and grpc-message', () => {
  it.each([
    ['100m', 100],
    ['2S', 2000],
    ['1M', 60_000],
    ['1H', 3_600_000],
    ['5000u', 5],
    ['99999999n', 99.999999],
  ])('reads %s as %d ms', (text, ms) => {
    expect(readGrpcTimeout(text)).toBe(ms)
  })

  it.each(['', '1', '10x', '-5m', '123456789m', ' 5m', '1e3m', '0x10m'])('ignores %j', (text) => {
    expect(readGrpcTimeout(text)).toBeUndefined()
  })

  it('percent-encodes % and every byte outside printable ASCII', () => {
    expect(encodeGrpcMessage('plain text: ok')).toBe('plain text: ok')
    expect(encodeGrpcMessage('100% \n é')).toBe('100%25 %0A %C3%A9')
  })
})
