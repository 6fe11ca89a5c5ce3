import type { Request, Response } from 'express'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Decision } from '../../src/decision'
import type { Binding } from '../core/gate'
import { LOWERCASE_HEADERS } from '../core/headers'
import { PROBLEM_JSON } from '../core/problem'
import type { RawResponse } from '../core/raw-response'
import { fastifyRouting, targetPath } from '../core/resource-path'
import { routingOf } from '../express'

/**
 * How the gate meets Nest's two HTTP platforms. A guard runs after routing, so the matched
 * route pattern is known on both. Unlike the other adapters, a denial is not sent here: the
 * problem is kept for the guard, which throws it as an `HttpException` for Nest's exception
 * filters to answer (see `RateLimitExceededException`); only the headers go on the response.
 */

/** A denial the gate decided on, waiting for the guard to throw it. */
export interface PendingProblem {
  status: number
  body: string
}

const pending = new WeakMap<object, PendingProblem>()

/** The denial the gate recorded for this response (once), if any. */
export function takeProblem(res: object): PendingProblem | undefined {
  const problem = pending.get(res)
  if (problem !== undefined) pending.delete(res)
  return problem
}

/**
 * Sends `body` as problem+json when it is what gets sent on this response: Nest's exception
 * filter answers an `HttpException` with `res.json(body)` (Express) or `reply.send(body)`
 * (Fastify), and NestJS 11 on Express forces `application/json` on any other content type set
 * beforehand (with a warning per request). So the content type is set at the moment the filter
 * sends this very object, and only then: a filter of the app's that sends its own body keeps
 * its own content type. Only a denied request's response gets this (an own property).
 */
export function sendsAsProblem(res: object, body: object): void {
  if (isFastify(res)) {
    const reply = res as FastifyReply
    const send = reply.send
    reply.send = function (this: FastifyReply, payload?: unknown) {
      if (payload === body) this.header('content-type', PROBLEM_JSON)
      return send.call(this, payload)
    } as FastifyReply['send']
    return
  }
  const response = res as Response
  const json = response.json
  response.json = function (this: Response, value?: unknown) {
    if (value === body) this.setHeader('Content-Type', PROBLEM_JSON)
    return json.call(this, value)
  } as Response['json']
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value
}

/** The decision on the request, as on every platform: `req.rateLimit`. */
function attach(req: { rateLimit?: Decision | null }, decision: Decision): void {
  req.rateLimit = decision
}

/** @nestjs/platform-express: the request and response are Express's. */
export const expressBinding: Binding<Request, Response> = {
  // `req.ip` follows the app's `trust proxy` setting; X-Forwarded-For counts only when trusted.
  clientIp: (req) => req.ip ?? req.socket.remoteAddress,
  header: (req, name) => headerValue(req.headers[name]),
  // Nest registers each route on the app's router with its whole path (global prefix,
  // controller path, version), so the pattern is all there; `baseUrl` is set when the Nest app
  // is mounted inside another Express app.
  route: (req) => {
    const path = req.route?.path
    return typeof path === 'string' ? req.baseUrl + path : undefined
  },
  path: (req) => targetPath(req.originalUrl ?? req.url),
  routing: (req) => routingOf(req.app),
  method: (req) => req.method,
  attach,
  proxySetting: "NestJS on Express: app.set('trust proxy', ...)",
  setHeader: (res, name, value) => {
    res.setHeader(name, value)
  },
  responded: (res) => res.headersSent,
  sendProblem: (res, status, body) => {
    pending.set(res, { status, body })
  },
  raw: (res) => res,
}

/** @nestjs/platform-fastify: the request and reply are Fastify's. */
export const fastifyBinding: Binding<FastifyRequest, FastifyReply> = {
  // `request.ip` follows the adapter's `trustProxy` option.
  clientIp: (request) => request.ip,
  header: (request, name) => headerValue(request.headers[name]),
  route: (request) => request.routeOptions?.url,
  path: (request) => targetPath(request.url),
  routing: (request) => fastifyRouting(request.server.initialConfig),
  method: (request) => request.method,
  attach: attach as (request: FastifyRequest, decision: Decision) => void,
  proxySetting: 'NestJS on Fastify: new FastifyAdapter({ trustProxy })',
  setHeader: (reply, name, value) => {
    reply.header(LOWERCASE_HEADERS[name] ?? name, value)
  },
  responded: (reply) => reply.sent,
  sendProblem: (reply, status, body) => {
    pending.set(reply, { status, body })
  },
  raw: (reply) => reply.raw,
}

type Either = { raw?: unknown }

/**
 * Fastify's request and reply wrap Node's own objects as `raw`; Express's are Node's objects.
 * A module serves whichever platform the app was created on, known only once requests come.
 */
function isFastify(value: unknown): boolean {
  return (value as Either).raw !== undefined
}

/**
 * One binding for both platforms, each call passed on to the platform's: the gate is then
 * built once, from the module's options as given, whichever platform the app uses.
 */
// biome-ignore lint/suspicious/noExplicitAny: Express's or Fastify's objects, told apart per call
export const nestBinding: Binding<any, any> = {
  clientIp: (req) => (isFastify(req) ? fastifyBinding.clientIp(req) : expressBinding.clientIp(req)),
  header: (req, name) =>
    isFastify(req) ? fastifyBinding.header(req, name) : expressBinding.header(req, name),
  route: (req) => (isFastify(req) ? fastifyBinding.route(req) : expressBinding.route(req)),
  path: (req) => (isFastify(req) ? fastifyBinding.path(req) : expressBinding.path(req)),
  routing: (req) => (isFastify(req) ? fastifyBinding.routing(req) : expressBinding.routing(req)),
  method: (req) => req.method,
  attach,
  proxySetting:
    "NestJS: app.set('trust proxy', ...) on Express, new FastifyAdapter({ trustProxy }) on Fastify",
  setHeader: (res, name, value) =>
    isFastify(res) ? fastifyBinding.setHeader(res, name, value) : expressBinding.setHeader(res, name, value),
  responded: (res) => (isFastify(res) ? fastifyBinding.responded(res) : expressBinding.responded(res)),
  sendProblem: (res, status, body) =>
    isFastify(res)
      ? fastifyBinding.sendProblem(res, status, body)
      : expressBinding.sendProblem(res, status, body),
  raw: (res): RawResponse => (isFastify(res) ? fastifyBinding.raw(res) : expressBinding.raw(res)),
}
