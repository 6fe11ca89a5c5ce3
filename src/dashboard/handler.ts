import type { IncomingMessage, ServerResponse } from 'node:http'
import { errorReason } from '../error-reason'
import type { Limiter } from '../limiter'
import { readBody } from '../serve/read-body'
import { authenticate, sameOriginWrite } from './auth'
import type { Collector } from './collector'
import type { ReadOptions } from './dashboard-options'
import { diffText } from './line-diff'
import { editRules, editTarget, readEditable } from './rule-editor'
import type { Asset } from './static-assets'
import type { StreamHub } from './stream-hub'

/**
 * The security headers of every answer. No inline script or style anywhere, so the policy
 * allows only this origin's files; the page is never framed, and sends no referrer (its URL
 * holds nothing secret, but the apps it is mounted in may).
 */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
}

const JSON_TYPE = 'application/json; charset=utf-8'
/** Longest request path taken; the dashboard's own are short. */
const MAX_PATH = 2048

export interface HandlerParts {
  limiter: Limiter
  options: ReadOptions
  collector: Collector
  assets: Map<string, Asset>
  hub: StreamHub
  status: () => unknown
}

type Request = IncomingMessage & { originalUrl?: string; body?: unknown }

/** Routes one request; every failure ends in an answer, never an exception out of here. */
export function handle(parts: HandlerParts, req: Request, res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value)
  const route = routeOf(req, parts.options.basePath)
  if (typeof route !== 'string') {
    if (route.redirect !== undefined) {
      res.statusCode = 308
      res.setHeader('Location', route.redirect)
      res.end()
      return
    }
    sendJson(res, route.status, { error: route.message })
    return
  }
  const method = req.method ?? 'GET'
  const read = method === 'GET' || method === 'HEAD'
  if (route === '/' || route.startsWith('/assets/')) {
    if (!read) {
      refuseMethod(res, 'GET, HEAD')
      return
    }
    const name = route === '/' ? 'index.html' : route.slice('/assets/'.length)
    const asset = name === 'index.html' && route !== '/' ? undefined : parts.assets.get(name)
    if (asset === undefined) {
      sendJson(res, 404, { error: 'no such file' })
      return
    }
    res.statusCode = 200
    res.setHeader('Content-Type', asset.type)
    res.setHeader('Content-Length', asset.body.length)
    res.end(method === 'HEAD' ? undefined : asset.body)
    return
  }
  const api = API[route]
  if (api === undefined) {
    sendJson(res, 404, { error: 'no such endpoint; see docs/dashboard.md' })
    return
  }
  // No HEAD here: it would open a live stream that sends nothing.
  if (api.method !== method) {
    refuseMethod(res, api.method)
    return
  }
  run(parts, req, res, api).catch((error: unknown) => {
    parts.options.logger.warn(`diana dashboard: ${route} failed: ${errorReason(error)}`)
    if (!res.headersSent) sendJson(res, 500, { error: 'internal error; see the server log' })
    else res.destroy()
  })
}

interface ApiRoute {
  method: 'GET' | 'POST'
  write?: boolean
  run: (parts: HandlerParts, req: Request, res: ServerResponse, identity: string) => void | Promise<void>
}

const API: Record<string, ApiRoute> = {
  '/api/state': {
    method: 'GET',
    run: (parts, _req, res) => sendJson(res, 200, snapshot(parts)),
  },
  '/api/stream': {
    method: 'GET',
    run: (parts, req, res) => {
      if (!parts.hub.open(req, res, snapshot(parts))) {
        res.setHeader('Retry-After', '5')
        sendJson(res, 503, {
          error: `too many live views open (at most ${parts.options.maxStreams}); close one`,
        })
      }
    },
  },
  '/api/rules': {
    method: 'GET',
    run: async (parts, _req, res) => {
      if (!parts.options.allowEdits) {
        // Read-only: the rules in force, but never the file (it may hold a Redis password).
        sendJson(res, 200, { allowEdits: false, rules: parts.limiter.rules })
        return
      }
      const editable = await readEditable(parts.limiter, parts.options.maxEditBytes)
      sendJson(res, 200, { allowEdits: true, ...editable })
    },
  },
  '/api/rules/preview': { method: 'POST', write: true, run: (p, q, s, who) => edit(p, q, s, who, false) },
  '/api/rules/apply': { method: 'POST', write: true, run: (p, q, s, who) => edit(p, q, s, who, true) },
}

async function run(parts: HandlerParts, req: Request, res: ServerResponse, api: ApiRoute): Promise<void> {
  if (api.write) {
    // Checked before the credentials, so a cross-site page learns nothing from the answer.
    const refusal = sameOriginWrite(req)
    if (refusal !== undefined) return sendJson(res, 403, { error: refusal })
  }
  const verdict = await authenticate(req, parts.options)
  if (!verdict.ok) {
    if (verdict.status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="diana-dashboard"')
    return sendJson(res, verdict.status, { error: verdict.message })
  }
  if (api.write && !parts.options.allowEdits) {
    return sendJson(res, 403, { error: 'rule edits are off: mount the dashboard with { allowEdits: true }' })
  }
  await api.run(parts, req, res, verdict.identity)
}

async function edit(
  parts: HandlerParts,
  req: Request,
  res: ServerResponse,
  identity: string,
  apply: boolean,
): Promise<void> {
  const { options, limiter } = parts
  const type = req.headers['content-type'] ?? ''
  if (!/^application\/json\s*(;|$)/i.test(type))
    return sendJson(res, 415, { error: 'send JSON: { "text": ..., "base": ... }' })
  let body: unknown
  if (req.body !== undefined && req.complete) {
    // A body parser (express.json()) already read the stream; its own size limit applied.
    body = req.body
  } else {
    const read = await readBody(req, options.maxEditBytes + 1024)
    if (!read.ok) return sendJson(res, read.status, { error: read.message })
    try {
      body = JSON.parse(read.text)
    } catch {
      return sendJson(res, 400, { error: 'the body is not JSON' })
    }
  }
  const { text, base } = (body ?? {}) as { text?: unknown; base?: unknown }
  if (typeof text !== 'string' || typeof base !== 'string' || !/^[0-9a-f]{64}$/.test(base)) {
    return sendJson(res, 400, {
      error: 'send { "text": the edited rules, "base": the base from GET api/rules }',
    })
  }
  if (Buffer.byteLength(text, 'utf8') > options.maxEditBytes) {
    return sendJson(res, 413, { error: `the edit is larger than ${options.maxEditBytes} bytes` })
  }
  const outcome = await editRules(limiter, text, base, apply, options.maxEditBytes)
  // Every apply that wrote the file or called setRules is logged, whatever came of it: a write
  // the reload refused, or one it did not confirm in time, was still made by someone.
  if (apply && ((outcome.ok && outcome.changed) || (!outcome.ok && outcome.attempted))) {
    const target = editTarget(limiter)
    const where = target.kind === 'file' ? target.path : 'in memory'
    const result = outcome.ok
      ? outcome.warnings
        ? ` (warning: ${outcome.warnings.join('; ')})`
        : ''
      : ` (not in force: ${outcome.message})`
    options.logger.warn(
      `diana dashboard: rules edited by ${identity} (${where})${result}:\n${diffText(outcome.diff ?? [])}`,
    )
  }
  if (!outcome.ok) return sendJson(res, outcome.status, { error: outcome.message, diff: outcome.diff })
  sendJson(res, 200, outcome)
}

function snapshot(parts: HandlerParts): unknown {
  const now = parts.options.now()
  return {
    now,
    second: Math.floor((now - 1000) / 1000),
    rules: parts.collector.snapshot(now),
    status: parts.status(),
  }
}

type Route = string | { status: number; message: string; redirect?: string }

/**
 * The dashboard's own path of a request (`/`, `/assets/x`, `/api/state`), or why there is none.
 * Query strings are refused: no endpoint takes one, and a token pasted into a URL would end up
 * in access logs. The page is served at the mount path with a trailing slash, so its relative
 * links resolve under any prefix; without one, it is redirected there.
 */
function routeOf(req: Request, basePath: string): Route {
  const raw = basePath === '' ? (req.url ?? '/') : (req.originalUrl ?? req.url ?? '/')
  if (raw.length > MAX_PATH) return { status: 414, message: 'path too long' }
  if (raw.includes('?')) return { status: 400, message: 'no dashboard endpoint takes query parameters' }
  let path = raw
  if (basePath !== '') {
    if (path !== basePath && !path.startsWith(`${basePath}/`))
      return { status: 404, message: 'not under the dashboard path' }
    path = path.slice(basePath.length)
  }
  if (path === '' || (path === '/' && !fullPath(req).endsWith('/'))) {
    const full = fullPath(req)
    // `//host` would be read as another site: never redirect there.
    if (full.startsWith('//') || full.includes('\\')) return { status: 404, message: 'no such page' }
    return { status: 308, message: '', redirect: `${full}/` }
  }
  return path
}

/** The path as the browser asked for it, when the framework tells (Express's originalUrl). */
function fullPath(req: Request): string {
  return req.originalUrl ?? req.url ?? '/'
}

function refuseMethod(res: ServerResponse, allow: string): void {
  res.setHeader('Allow', allow)
  sendJson(res, 405, { error: `takes ${allow}` })
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.statusCode = status
  res.setHeader('Content-Type', JSON_TYPE)
  res.setHeader('Content-Length', Buffer.byteLength(text))
  res.end(text)
}
