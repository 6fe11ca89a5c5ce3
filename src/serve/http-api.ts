import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  type HeaderStyle,
  PolicyCache,
  wholeSeconds,
  writeRateLimitHeaders,
} from '../../adapters/core/headers'
import type { DashboardHandler } from '../dashboard/index'
import { SERVE_DASHBOARD_PATH, serveDashboard } from '../dashboard/serve-dashboard'
import type { Decision } from '../decision'
import type { Limiter } from '../limiter'
import { type CheckRequest, readCheckRequest } from './check-request'
import { nginxSubject } from './nginx-subject'
import { readBody } from './read-body'

/**
 * The HTTP API of `diana serve` (docs/gateway.md): `POST /check`, `GET /nginx/auth`,
 * `GET /healthz`, `GET /metrics`, `GET /dashboard`. Every answer is written here, and every
 * failure ends in an answer: nothing a client sends reaches the process's error handlers.
 */

export interface HttpApiState {
  readonly limiter: Limiter
  readonly headers: HeaderStyle
  /** Rules in force and not shutting down. */
  ready(): boolean
  draining(): boolean
  /** The Prometheus text and its content type, or why there is none (501). */
  metrics(): Promise<{ contentType: string; text: string }> | string
  /** Where the dashboard's token comes from (`DIANA_DASHBOARD_TOKEN`). @default process.env */
  env?: Record<string, string | undefined>
}

const JSON_TYPE = 'application/json; charset=utf-8'
const TEXT_TYPE = 'text/plain; charset=utf-8'

export const NGINX_AUTH_PATH = '/nginx/auth'

type Route = (req: IncomingMessage, res: ServerResponse, api: HttpApi) => void | Promise<void>

const ROUTES: Record<string, { method: string; run: Route }> = {
  '/check': { method: 'POST', run: (req, res, api) => api.check(req, res) },
  [NGINX_AUTH_PATH]: { method: 'GET', run: (req, res, api) => api.nginxAuth(req, res) },
  '/healthz': { method: 'GET', run: (_req, res, api) => api.health(res) },
  '/metrics': { method: 'GET', run: (_req, res, api) => api.metrics(res) },
}

export class HttpApi {
  readonly #state: HttpApiState
  readonly #policies = new PolicyCache()
  /** diana-limiter/dashboard under /dashboard, or why it is off. */
  readonly #dashboard: DashboardHandler | string

  constructor(state: HttpApiState) {
    this.#state = state
    this.#dashboard = serveDashboard(state.limiter, state.env ?? process.env)
  }

  /**
   * Ends what never ends on its own: the dashboard's live streams. Called when shutdown begins,
   * so an open dashboard page does not hold the stop until the drain cut-off.
   */
  close(): void {
    if (typeof this.#dashboard !== 'string') this.#dashboard.close()
  }

  /** The server's request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (this.#state.draining()) res.setHeader('Connection', 'close')
    // A call that began before shutdown was answered as keep-alive: its connection would hold
    // the stop up until it idles out, so it is ended once the answer is out.
    else {
      // Taken now: the response lets go of its socket when it finishes.
      const socket = req.socket
      res.once('finish', () => this.#state.draining() && socket.end())
    }
    const url = req.url ?? '/'
    const query = url.indexOf('?')
    const path = query < 0 ? url : url.slice(0, query)
    if (path === SERVE_DASHBOARD_PATH || path.startsWith(`${SERVE_DASHBOARD_PATH}/`)) {
      // The dashboard answers its own paths, methods and errors (docs/dashboard.md).
      const dashboard = this.#dashboard
      if (typeof dashboard === 'string') send(res, 404, TEXT_TYPE, `${dashboard}\n`)
      else dashboard(req, res)
      return
    }
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined
    if (route === undefined) {
      problem(res, 404, 'no such endpoint; see docs/gateway.md')
      return
    }
    // HEAD is GET without a body, which Node's response already leaves out.
    if (req.method !== route.method && !(route.method === 'GET' && req.method === 'HEAD')) {
      res.setHeader('Allow', route.method === 'GET' ? 'GET, HEAD' : route.method)
      problem(res, 405, `${path} takes ${route.method}`)
      return
    }
    let running: void | Promise<void>
    try {
      running = route.run(req, res, this)
    } catch (error) {
      this.#failed(res, error)
      return
    }
    if (running !== undefined) running.catch((error: unknown) => this.#failed(res, error))
  }

  async check(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req)
    if (!body.ok) {
      // The rest of an oversized body is not worth reading: the connection ends with the answer.
      if (body.status === 413) res.setHeader('Connection', 'close')
      return problem(res, body.status, body.message)
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(body.text)
    } catch (error) {
      return problem(res, 400, `the body is not JSON: ${(error as Error).message}`)
    }
    const request = readCheckRequest(parsed)
    if (typeof request === 'string') return problem(res, 400, request)
    const decision = await this.#decide(request, res)
    if (decision === undefined) return
    this.#writeHeaders(decision, res)
    send(res, decision.allowed ? 200 : 429, JSON_TYPE, decisionJson(decision))
  }

  /**
   * Nginx `auth_request`: 204 allowed, 403 denied, both with Diana's headers for the recipe to
   * copy. Nginx takes 2xx and 401/403 from an auth endpoint and turns anything else into 500,
   * so the denial status cannot be 429 here; the recipe maps 403 to 429.
   */
  async nginxAuth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume()
    const subject = nginxSubject(req)
    if (typeof subject === 'string') {
      // A denial, not an error: Nginx turns any other status into a 500, and a hostile value
      // must not be worth more than an honest one.
      return send(res, 403, undefined, '')
    }
    const decision = await this.#decide({ subject, cost: undefined }, res)
    if (decision === undefined) return
    this.#writeHeaders(decision, res)
    send(res, decision.allowed ? 204 : 403, undefined, '')
  }

  health(res: ServerResponse): void {
    const state = this.#state
    if (state.ready()) send(res, 200, TEXT_TYPE, 'ok\n')
    else
      send(res, 503, TEXT_TYPE, state.draining() ? 'shutting down\n' : 'starting: rules not in force yet\n')
  }

  async metrics(res: ServerResponse): Promise<void> {
    const metrics = this.#state.metrics()
    if (typeof metrics === 'string') return send(res, 501, TEXT_TYPE, `${metrics}\n`)
    const { contentType, text } = await metrics
    send(res, 200, contentType, text)
  }

  /** The decision, or undefined once an error answer went out. */
  async #decide(request: CheckRequest, res: ServerResponse): Promise<Decision | undefined> {
    const options = request.cost === undefined ? undefined : { cost: request.cost as number }
    let decision: Decision
    try {
      decision = await this.#state.limiter.check(request.subject, options)
    } catch (error) {
      // check rejects only for a bad cost (the caller's mistake) or a closed limiter.
      if (error instanceof TypeError) problem(res, 400, error.message)
      else problem(res, 503, 'shutting down')
      return undefined
    }
    // A concurrency permit would be held for this call only: a gateway's request outlives it,
    // and no later call could hand it back. Released as soon as the answer is out.
    const release = decision.release
    if (release !== undefined) res.once('close', () => release())
    return decision
  }

  #writeHeaders(decision: Decision, res: ServerResponse): void {
    const { limiter, headers } = this.#state
    if (decision.rule !== undefined && headers !== 'none') {
      writeRateLimitHeaders(
        decision,
        limiter.windowOf(decision.rule, decision),
        headers,
        res,
        setHeader,
        this.#policies,
      )
    }
    if (!decision.allowed) res.setHeader('Retry-After', String(wholeSeconds(decision.retryAfterMs)))
  }

  #failed(res: ServerResponse, error: unknown): void {
    // A bug of ours, not the client's: said once per request on stderr, answered as 500.
    process.stderr.write(
      `diana serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    )
    if (!res.headersSent) problem(res, 500, 'internal error')
    else res.destroy()
  }
}

function setHeader(res: ServerResponse, name: string, value: string): void {
  res.setHeader(name, value)
}

/** The Decision as the contract's JSON: `limit` and `remaining` are null when no rule applied. */
function decisionJson(decision: Decision): string {
  return JSON.stringify({
    allowed: decision.allowed,
    rule: decision.rule,
    limit: decision.limit,
    remaining: decision.remaining,
    resetMs: decision.resetMs,
    retryAfterMs: decision.retryAfterMs,
    delayMs: decision.delayMs,
    degraded: decision.degraded,
    shadowDenied: decision.shadowDenied,
  })
}

function problem(res: ServerResponse, status: number, message: string): void {
  send(res, status, JSON_TYPE, JSON.stringify({ error: message }))
}

function send(res: ServerResponse, status: number, type: string | undefined, body: string): void {
  if (res.headersSent || res.destroyed) return
  res.statusCode = status
  if (type !== undefined) res.setHeader('Content-Type', type)
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}
