import { connect } from 'node:net'

/** One real HTTP exchange, reduced to what the tests compare. */
export interface Reply {
  status: number
  headers: Headers
  body: string
}

export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Reply> {
  const response = await fetch(url, init)
  return { status: response.status, headers: response.headers, body: await response.text() }
}

/** The rate-limit headers of a reply, for comparing whole sets at once. */
export function limitHeaders(reply: Reply): Record<string, string> {
  const picked: Record<string, string> = {}
  for (const name of [
    'ratelimit-policy',
    'ratelimit',
    'retry-after',
    'x-ratelimit-limit',
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
  ]) {
    const value = reply.headers.get(name)
    if (value !== null) picked[name] = value
  }
  return picked
}

/** A clock that stands still unless moved: windows and buckets are exactly predictable. */
export function fakeClock(start = 1_700_000_040_000): { now: () => number; advance(ms: number): void } {
  let now = start
  return {
    now: () => now,
    advance(ms) {
      now += ms
    },
  }
}

/**
 * One request written by hand on a fresh socket, so the request target goes out exactly as
 * given (fetch would resolve dot segments and never sends an absolute-form target or a `#`).
 * Resolves with the response status.
 */
export function rawStatus(
  url: string,
  target: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<number> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) })
    let received = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('error', reject)
    socket.on('close', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(received)
      if (status) resolve(Number(status[1]))
      else reject(new Error(`no HTTP response to ${target}: ${JSON.stringify(received.slice(0, 80))}`))
    })
    socket.write(rawRequest(url, target, init))
  })
}

/**
 * Sends a request and resets the connection (TCP RST) at once, as a client that wants the
 * server to work without ever reading the answer. Resolves once the socket is gone.
 */
export function sendThenReset(
  url: string,
  target: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<void> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.setNoDelay(true)
      socket.write(rawRequest(url, target, init), () => {
        socket.resetAndDestroy()
      })
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve())
  })
}

function rawRequest(
  url: string,
  target: string,
  init: { method?: string; headers?: Record<string, string> },
): string {
  const { host } = new URL(url)
  const lines = [`${init.method ?? 'GET'} ${target} HTTP/1.1`, `Host: ${host}`, 'Connection: close']
  if (init.method === 'POST') lines.push('Content-Length: 0')
  for (const [name, value] of Object.entries(init.headers ?? {})) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}
