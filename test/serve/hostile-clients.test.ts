import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postCheck, ServeProcess, writeConfig } from './serve-process'

/**
 * What a hostile or broken client sends gets an answer (or a closed connection), and the
 * service goes on answering everyone else: the process never crashes.
 */
describe.sequential('diana serve: hostile clients', () => {
  const config = writeConfig(`version: 1
rules:
  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 1000, window: 1h }
`)
  let serve: ServeProcess
  let host: string
  let port: number

  beforeAll(async () => {
    serve = await ServeProcess.start(config.file)
    const colon = serve.address.lastIndexOf(':')
    host = serve.address.slice(0, colon)
    port = Number(serve.address.slice(colon + 1))
  }, 30_000)

  afterAll(async () => {
    await serve?.stop()
    config.remove()
  })

  async function stillServes(): Promise<void> {
    expect(serve.alive).toBe(true)
    expect((await postCheck(serve.url, { subject: { ip: '192.0.2.1' } })).status).toBe(200)
  }

  async function errorOf(body: string): Promise<{ status: number; error: string }> {
    const res = await postCheck(serve.url, body)
    return { status: res.status, error: ((await res.json()) as { error: string }).error }
  }

  it('answers malformed JSON and bodies of the wrong shape 400, naming the problem', async () => {
    expect(await errorOf('{"subject":')).toMatchObject({ status: 400, error: /not JSON/ })
    expect(await errorOf('')).toMatchObject({ status: 400, error: /not JSON/ })
    expect(await errorOf('[1,2]')).toMatchObject({ status: 400, error: /must be a JSON object/ })
    expect(await errorOf('null')).toMatchObject({ status: 400 })
    expect(await errorOf('{"subject":"1.2.3.4"}')).toMatchObject({ status: 400, error: /"subject" must be/ })
    expect(await errorOf('{"subject":{"ip":["a"]}}')).toMatchObject({
      status: 400,
      error: 'subject.ip must be a string or a finite number (got an array)',
    })
    expect(await errorOf('{"subject":{"ip":{"$gt":""}}}')).toMatchObject({
      status: 400,
      error: /got a object/,
    })
    expect(await errorOf('{"subject":{"ip":true}}')).toMatchObject({ status: 400 })
    expect(await errorOf('{"subject":{"__proto__":{"x":1}}}')).toMatchObject({ status: 400 })
    expect(await errorOf('{"subject":{},"costs":1}')).toMatchObject({
      status: 400,
      error: /unknown field "costs"/,
    })
    expect(await errorOf(`{"subject":{"ip":"${'x'.repeat(2000)}"}}`)).toMatchObject({
      status: 400,
      error: /longer than 1024/,
    })
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'v']))
    expect(await errorOf(JSON.stringify({ subject: many }))).toMatchObject({
      status: 400,
      error: /more than 32/,
    })
    expect(await errorOf(`${'['.repeat(5000)}${']'.repeat(5000)}`)).toMatchObject({ status: 400 })
    await stillServes()
  })

  it('refuses a body over 16 KiB with 413, whether its length is declared or not', async () => {
    const huge = JSON.stringify({ subject: { ip: 'x'.repeat(64 * 1024) } })
    expect((await postCheck(serve.url, huge)).status).toBe(413)
    // Chunked: no Content-Length, the size is only known as it arrives.
    const chunk = 'x'.repeat(1024)
    const chunked = await exchange(
      `POST /check HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${`400\r\n${chunk}\r\n`.repeat(64)}0\r\n\r\n`,
    )
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /)
    await stillServes()
  })

  it('answers garbage that is not HTTP 400 and closes the connection', async () => {
    const answer = await exchange('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n')
    expect(answer).toMatch(/^HTTP\/1\.1 400/)
    const huge = await exchange(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    expect(huge).toMatch(/^HTTP\/1\.1 431 /)
    await stillServes()
  })

  it('cuts off a client that never finishes its headers, and serves others meanwhile', async () => {
    const socket = connect(port, host)
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write('POST /check HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    const closed = new Promise<number>((resolve) => {
      const started = Date.now()
      socket.once('close', () => resolve(Date.now() - started))
    })
    socket.on('error', () => {})
    let answer = ''
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString()
    })
    const drip = setInterval(() => socket.writable && socket.write('a'), 200)
    await stillServes()
    // headersTimeout is 5 s, checked every second.
    const after = await closed
    clearInterval(drip)
    expect(after).toBeLessThan(9_000)
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
    await stillServes()
  }, 20_000)

  it('survives clients that reset their connection mid-request', async () => {
    for (let i = 0; i < 20; i++) {
      const socket = connect(port, host)
      socket.on('error', () => {})
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write('POST /check HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"subject":')
      socket.resetAndDestroy()
    }
    await stillServes()
  })

  function exchange(raw: string): Promise<string> {
    return new Promise((resolve) => {
      const socket = connect(port, host)
      let answer = ''
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1')
      })
      socket.on('error', () => {})
      socket.once('close', () => resolve(answer))
      socket.once('connect', () => socket.write(raw, 'latin1'))
    })
  }
})
