import type { ServerResponse } from 'node:http'
import { checkNow, type Limiter } from '../../src/limiter'
import type { Decision, Subject } from '../../src/types'
import { clientKey } from './client-ip'
import { PolicyCache, wholeSeconds, writeRateLimitHeaders } from './headers'
import { hold } from './hold'
import { type AdapterOptions, type ResolvedOptions, resolveOptions } from './options'
import { type OutageWatch, watchOutages } from './outage'
import { rateLimitedProblem, storeUnavailableProblem } from './problem'

/**
 * What one framework must tell the gate, as plain functions of its request and response
 * objects. Each adapter file is this table plus a few lines of glue.
 */
export interface Binding<Req, Res> {
  /** The client address as the framework sees it (after its own trust-proxy handling). */
  clientIp(req: Req): string | undefined
  header(req: Req, name: string): string | undefined
  /** The matched route pattern, when the framework has matched one by now. */
  route(req: Req): string | undefined
  /** The request path, without the query string. */
  path(req: Req): string
  method(req: Req): string
  setHeader(res: Res, name: string, value: string): void
  /** Whether a response has been sent (or, for Koa, set). */
  responded(res: Res): boolean
  /** Sends a problem+json body with this status. */
  sendProblem(res: Res, status: number, body: string): void
  raw(res: Res): ServerResponse
}

export const DEVICE_HEADER = 'x-device-id'

/**
 * The shared adapter core: request → subject → decision → headers, denial, shaping delay or
 * pass. Every framework runs exactly this, so the same requests get the same answers.
 */
export class Gate<Req, Res> {
  readonly limiter: Limiter
  readonly #options: ResolvedOptions<Req, Res>
  readonly #binding: Binding<Req, Res>
  readonly #where: string
  readonly #outage: OutageWatch
  /** The limiter's synchronous check when it has one (see `checkNow`), else its `check`. */
  readonly #checkNow: (subject: Subject) => Decision | Promise<Decision>
  readonly #policies = new PolicyCache()
  #failing = false

  constructor(
    options: AdapterOptions<Req, Res>,
    binding: Binding<Req, Res>,
    where: string,
    logger?: { warn(message: string): void },
  ) {
    this.#options = resolveOptions(options, where, logger)
    this.limiter = this.#options.limiter
    this.#binding = binding
    this.#where = where
    this.#outage = watchOutages(this.limiter)
    const limiter = this.limiter
    this.#checkNow =
      typeof limiter[checkNow] === 'function'
        ? (subject) => limiter[checkNow](subject, 1)
        : (subject) => limiter.check(subject)
  }

  /** The subject this request is counted as (see the contract's "Subject from the request"). */
  subject(req: Req): Subject | Promise<Subject> {
    const binding = this.#binding
    const ip = clientKey(binding.clientIp(req))
    const resource = this.#options.normalizeResource?.(req) ?? binding.route(req) ?? binding.path(req)
    const subject: { -readonly [K in keyof Subject]: Subject[K] } = {
      device: binding.header(req, DEVICE_HEADER) || ip,
      resource,
      method: binding.method(req),
      ip,
    }
    const identify = this.#options.identify
    if (identify === undefined) return subject
    const account = identify(req)
    if (typeof (account as PromiseLike<unknown> | undefined)?.then === 'function') {
      return Promise.resolve(account).then((value) => {
        subject.account = value
        return subject
      })
    }
    subject.account = account as string | undefined
    return subject
  }

  /**
   * Decides one request and answers it when it must not go on. Gives true when the framework
   * should pass the request on (allowed, after any shaping delay), false when it has been
   * answered or the client has gone away. The answer is a plain boolean when nothing had to be
   * waited for (no async hook, a memory store, no delay), so the request goes on in the same
   * tick; otherwise a promise of it. A hook that throws makes it throw (or reject).
   */
  handle(req: Req, res: Res): boolean | Promise<boolean> {
    const skip = this.#options.skip
    if (skip !== undefined) {
      const skipped = skip(req)
      if (skipped instanceof Promise) {
        return skipped.then((yes) => (yes ? true : this.#decide(req, res)))
      }
      if (skipped) return true
    }
    return this.#decide(req, res)
  }

  /**
   * {@link handle} for callback-style frameworks: calls `proceed()` when the request may go on,
   * `stopped(res)` when it has been answered (or its client left), `failed(error)` when a hook
   * threw or rejected; in the same tick when the gate decided at once.
   */
  handleThen(
    req: Req,
    res: Res,
    proceed: () => void,
    stopped: (res: Res) => void,
    failed: (error: Error) => void,
  ): void {
    let pass: boolean | Promise<boolean>
    try {
      pass = this.handle(req, res)
    } catch (error) {
      failed(error as Error)
      return
    }
    if (pass === true) proceed()
    else if (pass === false) stopped(res)
    else pass.then((yes) => (yes ? proceed() : stopped(res)), failed)
  }

  #decide(req: Req, res: Res): boolean | Promise<boolean> {
    const subject = this.subject(req)
    if (subject instanceof Promise) return subject.then((known) => this.#check(known, req, res))
    return this.#check(subject, req, res)
  }

  #check(subject: Subject, req: Req, res: Res): boolean | Promise<boolean> {
    let decision: Decision | Promise<Decision>
    try {
      decision = this.#checkNow(subject)
    } catch (error) {
      return this.#storeFailed(error, res)
    }
    if (decision instanceof Promise) {
      return decision.then(
        (known) => this.#answer(known, req, res),
        (error: unknown) => this.#storeFailed(error, res),
      )
    }
    return this.#answer(decision, req, res)
  }

  #answer(decision: Decision, req: Req, res: Res): boolean | Promise<boolean> {
    const options = this.#options
    if (this.#failing) {
      this.#failing = false
      options.logger.warn(`${this.#where}: the limiter answers again; limiting resumed`)
    }
    const binding = this.#binding
    if (!decision.allowed && decision.degraded && (options.failClosed || this.#outage.closed)) {
      // The store is down and set to refuse: this denial is about the store, not a quota.
      binding.setHeader(res, 'Retry-After', String(wholeSeconds(decision.retryAfterMs)))
      binding.sendProblem(res, 503, storeUnavailableProblem())
      return false
    }
    if (decision.rule !== undefined && options.headers !== 'none') {
      writeRateLimitHeaders(
        decision,
        this.limiter.windowOf(decision.rule),
        options.headers,
        res,
        binding.setHeader,
        this.#policies,
      )
    }
    if (!decision.allowed) {
      binding.setHeader(res, 'Retry-After', String(wholeSeconds(decision.retryAfterMs)))
      if (options.onLimited !== undefined) return this.#limitedByHook(decision, req, res)
      binding.sendProblem(res, options.status, rateLimitedProblem(decision, options.status))
      return false
    }
    if (decision.delayMs > 0) return hold(Math.min(decision.delayMs, options.maxDelayMs), binding.raw(res))
    return true
  }

  async #limitedByHook(decision: Decision, req: Req, res: Res): Promise<boolean> {
    const options = this.#options
    await options.onLimited?.(req, res, decision)
    if (!this.#binding.responded(res)) {
      this.#binding.sendProblem(res, options.status, rateLimitedProblem(decision, options.status))
    }
    return false
  }

  /** Closes the limiter if this gate built it; a limiter you passed in stays yours. */
  async close(): Promise<void> {
    if (this.#options.ownsLimiter) await this.limiter.close()
  }

  /** A store failure is logged once per outage and never reaches the request handler. */
  #storeFailed(error: unknown, res: Res): boolean {
    const closed = this.#options.failClosed
    if (!this.#failing) {
      this.#failing = true
      const reason = error instanceof Error ? error.message : String(error)
      this.#options.logger.warn(
        `${this.#where}: the limiter failed (${reason}); ${closed ? 'refusing requests with 503' : 'letting requests through unlimited'} until it answers again`,
      )
    }
    if (!closed) return true
    this.#binding.sendProblem(res, 503, storeUnavailableProblem())
    return false
  }
}
