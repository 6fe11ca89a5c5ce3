import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A stand-in for a Nacos server (which cannot be installed on these machines): the parts of
 * the v1 config open API that the `nacos` package's config client uses, driven by the real
 * client in the tests.
 *
 * - `GET    /nacos/v1/cs/configs?dataId&group&tenant` → the content, or 404
 * - `POST   /nacos/v1/cs/configs` (form: dataId, group, content, tenant) → `true`
 * - `DELETE /nacos/v1/cs/configs?dataId&group&tenant` → `true`
 * - `POST   /nacos/v1/cs/configs/listener` (form: `Listening-Configs` =
 *   `dataId^2group^2md5[^2tenant]^1...`, header `Long-Pulling-Timeout`) → the URL-encoded
 *   `dataId^2group[^2tenant]^1` lines whose MD5 differs from the client's; held open until a
 *   change or the timeout when none differs, as the real server does.
 */
export interface FakeNacosServer {
  /** `127.0.0.1:PORT`, for `serverAddr`. */
  readonly address: string
  /** Every request, as `METHOD path`, in order. */
  readonly requests: string[]
  publish(dataId: string, group: string, content: string, tenant?: string): void
  remove(dataId: string, group: string, tenant?: string): void
  /** Stops listening and drops every connection (held long polls too): the server is "down". */
  stop(): Promise<void>
  /** Listens again on the same port, with the same documents. */
  start(): Promise<void>
}

const LINE = '\u0001'
const WORD = '\u0002'
const BASE = '/nacos/v1/cs/configs'

interface Watch {
  dataId: string
  group: string
  tenant: string
  md5: string
}

interface Waiter {
  watches: Watch[]
  respond(changed: Watch[]): void
}

export async function startFakeNacos(options: { maxHoldMs?: number } = {}): Promise<FakeNacosServer> {
  const documents = new Map<string, string>()
  const waiters = new Set<Waiter>()
  const requests: string[] = []
  const key = (dataId: string, group: string, tenant: string) => JSON.stringify([tenant, group, dataId])
  const md5Of = (watch: Watch) => {
    const content = documents.get(key(watch.dataId, watch.group, watch.tenant))
    return content === undefined ? '' : createHash('md5').update(content, 'utf8').digest('hex')
  }
  const changedOf = (watches: Watch[]) => watches.filter((watch) => md5Of(watch) !== watch.md5)
  const notify = () => {
    for (const waiter of [...waiters]) {
      const changed = changedOf(waiter.watches)
      if (changed.length > 0) waiter.respond(changed)
    }
  }

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://nacos')
    requests.push(`${request.method} ${url.pathname}`)
    const form = request.method === 'POST' ? new URLSearchParams(await readBody(request)) : url.searchParams
    const text = (status: number, body: string) => {
      response.writeHead(status, { 'content-type': 'text/plain;charset=UTF-8' })
      response.end(body)
    }
    const dataId = form.get('dataId') ?? ''
    const group = form.get('group') ?? ''
    const tenant = form.get('tenant') ?? ''

    if (url.pathname === `${BASE}/listener` && request.method === 'POST') {
      const watches = parseListening(form.get('Listening-Configs') ?? '', form.get('tenant') ?? '')
      if (watches === undefined) return text(400, 'invalid probeModify')
      const changed = changedOf(watches)
      if (changed.length > 0) return text(200, encodeChanged(changed))
      const requested = Number(request.headers['long-pulling-timeout'] ?? 30_000)
      // The real server answers a little before the client's timeout; so does this one.
      const hold = Math.min(Math.max(requested - 500, 0), options.maxHoldMs ?? 30_000)
      const waiter: Waiter = {
        watches,
        respond: (found) => {
          clearTimeout(timer)
          waiters.delete(waiter)
          text(200, encodeChanged(found))
        },
      }
      const timer = setTimeout(() => waiter.respond([]), hold)
      waiters.add(waiter)
      response.on('close', () => {
        clearTimeout(timer)
        waiters.delete(waiter)
      })
      return
    }
    if (url.pathname !== BASE) return text(404, 'no such API')
    if (!dataId || !group) return text(400, 'dataId and group are required')
    if (request.method === 'GET') {
      const content = documents.get(key(dataId, group, tenant))
      return content === undefined ? text(404, 'config data not exist') : text(200, content)
    }
    if (request.method === 'POST') {
      const content = form.get('content')
      if (content === null || content === '') return text(400, 'content is required')
      documents.set(key(dataId, group, tenant), content)
      notify()
      return text(200, 'true')
    }
    if (request.method === 'DELETE') {
      documents.delete(key(dataId, group, tenant))
      notify()
      return text(200, 'true')
    }
    return text(405, 'method not allowed')
  }

  let server: Server | undefined
  let port = 0
  const listen = async () => {
    const created = createServer((request, response) => {
      handle(request, response).catch((error: Error) => {
        response.writeHead(500)
        response.end(error.message)
      })
    })
    await new Promise<void>((resolve, reject) => {
      created.once('error', reject)
      created.listen(port, '127.0.0.1', () => resolve())
    })
    server = created
    port = (created.address() as AddressInfo).port
  }
  await listen()

  return {
    get address() {
      return `127.0.0.1:${port}`
    },
    requests,
    publish(dataId, group, content, tenant = '') {
      documents.set(key(dataId, group, tenant), content)
      notify()
    },
    remove(dataId, group, tenant = '') {
      documents.delete(key(dataId, group, tenant))
      notify()
    },
    async stop() {
      const running = server
      server = undefined
      if (!running) return
      waiters.clear()
      const closed = new Promise<void>((resolve) => running.close(() => resolve()))
      running.closeAllConnections()
      await closed
    },
    async start() {
      if (!server) await listen()
    },
  }
}

function parseListening(probe: string, tenant: string): Watch[] | undefined {
  const watches: Watch[] = []
  for (const line of probe.split(LINE)) {
    if (line === '') continue
    const [dataId, group, md5 = '', lineTenant] = line.split(WORD)
    if (!dataId || !group) return undefined
    watches.push({ dataId, group, md5, tenant: lineTenant ?? tenant })
  }
  return watches
}

function encodeChanged(changed: Watch[]): string {
  const lines = changed.map((watch) =>
    [watch.dataId, watch.group, ...(watch.tenant ? [watch.tenant] : [])].join(WORD),
  )
  return encodeURIComponent(lines.map((line) => `${line}${LINE}`).join(''))
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = ''
  request.setEncoding('utf8')
  for await (const chunk of request) {
    body += chunk
    if (body.length > 1_000_000) throw new Error('body too large')
  }
  return body
}
