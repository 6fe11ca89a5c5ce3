import type { Priority } from '../../src/concurrency/priority'
import type { Decision } from '../../src/decision'
import { verifiedDeviceId } from '../../src/device-id'
import type { Limiter } from '../../src/limiter'
import type { Logger } from '../../src/logger'
import { isPromiseLike, type MaybePromise } from '../../src/maybe-async'
import { holdsPermits } from '../../src/registry'
import type { Subject } from '../../src/types'
import { clientKey } from './client-ip'
import { PolicyCache, wholeSeconds, writeRateLimitHeaders } from './headers'
import { hold } from './hold'
import { type AdapterOptions, type ResolvedOptions, resolveOptions } from './options'
import { type OutageWatch, watchOutages } from './outage'
import { type LimitSpan, rateLimitedProblem, storeUnavailableProblem } from './problem'
import { ProxyWatch } from './proxy-warnings'
import type { RawResponse } from './raw-response'
import { canonicalResource, type Routing, routing } from './resource-path'
import { whenResponded } from './settle'

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
  /** How the framework tells paths apart (see `routing()` in resource-path.ts). */
  routing(req: Req): Routing
  /**
   * The matched route pattern already in canonical form, for a framework that knows its routes
   * up front and canonicalised each once (with {@link Gate.canonical}) rather than per request.
   * When it answers, {@link route} and {@link path} are not asked.
   */
  canonicalRoute?(req: Req): string | undefined
  method(req: Req): string
  /** Puts the decision on the request (`req.rateLimit`, `ctx.state.rateLimit`) for the handler. */
  attach(req: Req, decision: Decision): void
  /** The framework's trust-proxy setting, as the proxy warnings name it. */
  readonly proxySetting: string
  setHeader(res: Res, name: string, value: string): void
  /** Whether a response has been sent (or, for Koa, set). */
  responded(res: Res): boolean
  /** Sends a problem+json body with this status. */
  sendProblem(res: Res, status: number, body: string): void
  raw(res: Res): RawResponse
}

/**
 * Device key prefixes: `d:` for what `identifyDevice` named, `h:` for the header's value (or
 * the ID of a signed one), `a:` for the client address. Each source has its own key space, so
 * no client can name another source's bucket.
 */
export const HOOK_DEVICE = 'd:'
export const HEADER_DEVICE = 'h:'
export const ADDRESS_DEVICE = 'a:'
/** The address of every client whose address cannot be determined. */
export const UNKNOWN_ADDRESS = 'unknown'

type HookName = 'identify' | 'identifyDevice' | 'normalizeResource' | 'prioritize' | 'skip' | 'onLimited'

const HOOK_FALLBACKS: Readonly<Record<HookName, string>> = {
  identify: 'requests it fails for have no account, so account rules skip them; the other rules apply',
  identifyDevice: 'requests it fails for are counted by the device header, else the client address',
  normalizeResource: 'requests it fails for use the default resource (route pattern, else path)',
  prioritize: 'requests it fails for are of normal priority',
  skip: 'requests it fails for are limited as usual',
  onLimited: 'denied requests it fails for get the default answer',
}

/**
 * The client has gone away: its connection is destroyed, or it is a TCP connection (it has a
 * local address) whose peer address the kernel no longer knows, as after a reset. No one is
 * left to answer, and the handler must not work for no one. A Unix socket has neither address
 * and is not gone.
 */
function peerGone(res: RawResponse): boolean {
  const socket = res.socket
  return res.destroyed || !socket || socket.destroyed || socket.localAddress !== undefined
}

/**
 * Calls `release` when the response is over: sent in full, or the connection closed first (the
 * client went away, the handler failed and the framework gave up). `close` comes in every case,
 * so a client that hangs up mid-request cannot keep a permit.
 */
function releaseWhenDone(res: RawResponse, release: () => void): void {
  // `true` (abandoned) when the response was not sent in full: see the limiter's #releaser.
  const done = release as (abandoned: boolean) => void
  if (res.closed || res.destroyed) done(!res.writableFinished)
  else res.once('close', () => done(!res.writableFinished))
}

/** A value's kind for a message, never its content (it may be a secret). */
function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}

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
  /** The limiter's synchronous check when it has one (see `Limiter.checkNow`), else its `check`. */
  readonly #checkNow: (subject: Subject) => MaybePromise<Decision>
  readonly #policies = new PolicyCache()
  readonly #failedHooks = new Set<HookName>()
  /** Undefined when `proxyWarnings` is off or both warnings are done with. */
  #proxies: ProxyWatch<Req> | undefined
  #failing = false
  #refundFailed = false

  constructor(options: AdapterOptions<Req, Res>, binding: Binding<Req, Res>, where: string, logger?: Logger) {
    this.#options = resolveOptions(options, where, logger)
    this.limiter = this.#options.limiter
    this.#binding = binding
    this.#where = where
    this.#outage = watchOutages(this.limiter)
    this.#proxies = this.#options.proxyWarnings
      ? new ProxyWatch(binding, binding.proxySetting, (message) => this.warn(message))
      : undefined
    const limiter = this.limiter
    // A limiter of an older release, or another implementation, may lack it.
    this.#checkNow =
      typeof limiter.checkNow === 'function'
        ? (subject) => limiter.checkNow(subject, 1)
        : (subject) => limiter.check(subject)
  }

  /**
   * The subject this request is counted as (see the contract's "Subject from the request").
   * Hooks that fail are logged once and left out: only what depends on them stops applying.
   */
  subject(req: Req): MaybePromise<Subject> {
    return this.#subjectOf(req, clientKey(this.#binding.clientIp(req), this.#options.ipv6Subnet))
  }

  #subjectOf(req: Req, address: string | undefined): MaybePromise<Subject> {
    const binding = this.#binding
    // No address: the socket is gone (a client that reset its connection) or never had one
    // (a Unix socket without a trusted proxy). All such clients share one address bucket
    // rather than none, so address-keyed rules still hold them.
    const ip = address ?? UNKNOWN_ADDRESS
    const subject: { -readonly [K in keyof Subject]: Subject[K] } = {
      resource: this.#resource(req),
      method: binding.method(req),
      ip,
    }
    if (this.#options.prioritize !== undefined) {
      const priority = this.#priority(req)
      if (priority !== undefined) subject.priority = priority
    }
    const device = this.#device(req, ip)
    const account = this.#identity(req)
    if (!isPromiseLike(device) && !isPromiseLike(account)) {
      subject.device = device
      subject.account = account
      return subject
    }
    return Promise.all([device, account]).then(([knownDevice, knownAccount]) => {
      subject.device = knownDevice
      subject.account = knownAccount
      return subject
    })
  }

  /** The account `identify` names; a hook that throws or rejects means none. Never rejects. */
  #identity(req: Req): MaybePromise<string | undefined> {
    const identify = this.#options.identify
    if (identify === undefined) return undefined
    let account: ReturnType<typeof identify>
    try {
      account = identify(req)
    } catch (error) {
      this.#hookFailed('identify', error)
      return undefined
    }
    if (!isPromiseLike(account)) return this.#account(account)
    return Promise.resolve(account).then(
      (value) => this.#account(value),
      (error: unknown) => {
        this.#hookFailed('identify', error)
        return undefined
      },
    )
  }

  /**
   * The device key: what `identifyDevice` names, else the device header's value (only a
   * validly signed one with `deviceSecret`), else the client address. Never rejects.
   */
  #device(req: Req, ip: string): MaybePromise<string> {
    const identifyDevice = this.#options.identifyDevice
    if (identifyDevice === undefined) return this.#headerDevice(req, ip)
    let named: ReturnType<typeof identifyDevice>
    try {
      named = identifyDevice(req)
    } catch (error) {
      this.#hookFailed('identifyDevice', error)
      return this.#headerDevice(req, ip)
    }
    if (!isPromiseLike(named)) return this.#namedDevice(named) ?? this.#headerDevice(req, ip)
    return Promise.resolve(named).then(
      (value) => this.#namedDevice(value) ?? this.#headerDevice(req, ip),
      (error: unknown) => {
        this.#hookFailed('identifyDevice', error)
        return this.#headerDevice(req, ip)
      },
    )
  }

  #namedDevice(value: unknown): string | undefined {
    const id = this.#hookId('identifyDevice', value)
    return id === undefined ? undefined : HOOK_DEVICE + id
  }

  #headerDevice(req: Req, ip: string): string {
    const options = this.#options
    const name = options.deviceHeader
    const value = name === undefined ? undefined : this.#binding.header(req, name)
    if (value) {
      const key = options.deviceKey
      if (key === undefined) return HEADER_DEVICE + value
      const id = verifiedDeviceId(value, key)
      if (id !== undefined) return HEADER_DEVICE + id
    }
    return ADDRESS_DEVICE + ip
  }

  #account(value: unknown): string | undefined {
    return this.#hookId('identify', value)
  }

  /**
   * What an `identify` or `identifyDevice` hook returned, as an id: a non-empty string, or a
   * finite number as text; anything else means none, and a value of the wrong kind is that
   * hook's bug, reported once.
   */
  #hookId(hook: 'identify' | 'identifyDevice', value: unknown): string | undefined {
    if (typeof value === 'string') return value === '' ? undefined : value
    if (value === undefined || value === null) return undefined
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
    this.#hookFailed(hook, `returned ${describe(value)}, expected a string or undefined`)
    return undefined
  }

  /**
   * What `prioritize` says, when it says `critical` or `sheddable`. Anything else is `normal`:
   * a hook that reads a header the client controls can return anything, and must never raise
   * a request's share by it; a value that is no priority at all is the hook's bug, reported once.
   */
  #priority(req: Req): Priority | undefined {
    let value: unknown
    try {
      value = (this.#options.prioritize as (req: Req) => unknown)(req)
    } catch (error) {
      this.#hookFailed('prioritize', error)
      return undefined
    }
    if (value === 'critical' || value === 'sheddable') return value
    if (value !== 'normal' && value !== undefined) {
      this.#hookFailed(
        'prioritize',
        `returned ${typeof value === 'string' ? 'another string' : describe(value)}, expected critical, normal, sheddable or undefined`,
      )
    }
    return undefined
  }

  #resource(req: Req): string {
    const normalize = this.#options.normalizeResource
    if (normalize !== undefined) {
      try {
        const named: unknown = normalize(req)
        if (typeof named === 'string' && named !== '') return named
        if (named !== undefined && named !== null && named !== '') {
          this.#hookFailed('normalizeResource', `returned ${describe(named)}, expected a string or undefined`)
        }
      } catch (error) {
        this.#hookFailed('normalizeResource', error)
      }
    }
    const binding = this.#binding
    const canonical = binding.canonicalRoute?.(req)
    if (canonical !== undefined) return canonical
    return canonicalResource(binding.route(req) ?? binding.path(req), this.#merged(binding.routing(req)))
  }

  /** A route pattern in the one spelling this gate counts it by, under the framework's routing. */
  canonical(pattern: string, framework: Routing): string {
    return canonicalResource(pattern, this.#merged(framework))
  }

  /** The framework's routing with the adapter's `routing` option on top. */
  #merged(framework: Routing): Routing {
    const override = this.#options.routing
    if (override === undefined) return framework
    return routing(
      override.caseSensitive ?? framework.caseSensitive,
      override.ignoreTrailingSlash ?? framework.ignoreTrailingSlash,
      override.ignoreDuplicateSlashes ?? framework.ignoreDuplicateSlashes,
    )
  }

  /**
   * Decides one request and answers it when it must not go on. Gives true when the framework
   * should pass the request on (allowed, after any shaping delay), false when it has been
   * answered or the client has gone away. The answer is a plain boolean when nothing had to be
   * waited for (no async hook, a memory store, no delay), so the request goes on in the same
   * tick; otherwise a promise of it. Hooks that throw or reject are logged, never rethrown.
   */
  handle(req: Req, res: Res): MaybePromise<boolean> {
    const skip = this.#options.skip
    if (skip !== undefined) {
      let skipped: ReturnType<typeof skip>
      try {
        skipped = skip(req)
      } catch (error) {
        this.#hookFailed('skip', error)
        return this.#decide(req, res)
      }
      if (isPromiseLike(skipped)) {
        return Promise.resolve(skipped).then(
          (yes) => (this.#skips(yes) ? true : this.#decide(req, res)),
          (error: unknown) => {
            this.#hookFailed('skip', error)
            return this.#decide(req, res)
          },
        )
      }
      if (this.#skips(skipped)) return true
    }
    return this.#decide(req, res)
  }

  /** Only `true` skips: a hook that answers something else has a bug, and limits stay on. */
  #skips(value: unknown): boolean {
    if (value === true) return true
    if (value !== false && value !== undefined && value !== null) {
      this.#hookFailed('skip', `returned ${describe(value)}, expected true or false`)
    }
    return false
  }

  /**
   * {@link handle} for callback-style frameworks: calls `proceed()` when the request may go on,
   * `stopped(res)` when it has been answered (or its client left), `failed(error)` when the
   * gate itself failed; in the same tick when the gate decided at once.
   */
  handleThen(
    req: Req,
    res: Res,
    proceed: () => void,
    stopped: (res: Res) => void,
    failed: (error: Error) => void,
  ): void {
    let pass: MaybePromise<boolean>
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

  #decide(req: Req, res: Res): MaybePromise<boolean> {
    const binding = this.#binding
    const reported = binding.clientIp(req)
    if (this.#proxies !== undefined && reported) this.#watchProxies(req, res, reported)
    const address = clientKey(reported, this.#options.ipv6Subnet)
    if (address === undefined && peerGone(binding.raw(res))) return false
    const subject = this.#subjectOf(req, address)
    if (isPromiseLike(subject)) return subject.then((known) => this.#check(known, req, res))
    return this.#check(subject, req, res)
  }

  #watchProxies(req: Req, res: Res, ip: string): void {
    const watch = this.#proxies as ProxyWatch<Req>
    watch.see(req, ip, this.#binding.raw(res).socket?.remoteAddress)
    if (!watch.active) this.#proxies = undefined
  }

  /** A warning about how the adapter is set up, through the adapter's logger. */
  warn(message: string): void {
    try {
      this.#options.logger.warn(`${this.#where}: ${message}`)
    } catch {
      // A logger that throws must not fail a request.
    }
  }

  /** A hook's programming error, reported once per hook (not per request) with its name. */
  #hookFailed(hook: HookName, problem: unknown): void {
    if (this.#failedHooks.has(hook)) return
    this.#failedHooks.add(hook)
    const reason = problem instanceof Error ? problem.message : String(problem)
    const message = `${this.#where}: the ${hook} hook failed (${reason}); ${HOOK_FALLBACKS[hook]}. Reported once.`
    try {
      this.#options.logger.warn(message)
    } catch {
      // A logger that throws must not turn a hook's bug into a failed request.
    }
  }

  #check(subject: Subject, req: Req, res: Res): MaybePromise<boolean> {
    let decision: MaybePromise<Decision>
    try {
      decision = this.#checkNow(subject)
    } catch (error) {
      return this.#storeFailed(error, res)
    }
    if (isPromiseLike(decision)) {
      return decision.then(
        (known) => this.#answer(known, subject, req, res),
        (error: unknown) => this.#storeFailed(error, res),
      )
    }
    return this.#answer(decision, subject, req, res)
  }

  #answer(decision: Decision, subject: Subject, req: Req, res: Res): MaybePromise<boolean> {
    const options = this.#options
    if (this.#failing) {
      this.#failing = false
      options.logger.warn(`${this.#where}: the limiter answers again; limiting resumed`)
    }
    const binding = this.#binding
    binding.attach(req, decision)
    if (!decision.allowed && decision.degraded && (options.failClosed || this.#outage.closed)) {
      // The store is down and set to refuse: this denial is about the store, not a quota.
      binding.setHeader(res, 'Retry-After', String(wholeSeconds(decision.retryAfterMs)))
      binding.sendProblem(res, 503, storeUnavailableProblem())
      return false
    }
    if (decision.rule !== undefined && options.headers !== 'none') {
      writeRateLimitHeaders(
        decision,
        this.limiter.windowOf(decision.rule, decision),
        options.headers,
        res,
        binding.setHeader,
        this.#policies,
      )
    }
    if (!decision.allowed) {
      binding.setHeader(res, 'Retry-After', String(wholeSeconds(decision.retryAfterMs)))
      const status = this.#deniedStatus(decision)
      if (options.onLimited !== undefined) return this.#limitedByHook(decision, status, req, res)
      binding.sendProblem(res, status, this.#problem(decision, status))
      return false
    }
    // Registered before anything else can end the response (a shaping delay the client does
    // not wait for), so every way out of it hands the permits back.
    if (decision.release !== undefined) releaseWhenDone(binding.raw(res), decision.release)
    if (decision.rule !== undefined && (options.skipFailedRequests || options.skipSuccessfulRequests)) {
      this.#refundWhenResponded(subject, res, decision.release !== undefined)
    }
    if (decision.delayMs > 0) return hold(Math.min(decision.delayMs, options.maxDelayMs), binding.raw(res))
    return true
  }

  /**
   * `skipFailedRequests` / `skipSuccessfulRequests`: an admitted request's unit is given back
   * once its response shows it is of the kind not to count. A refund that fails (the limiter
   * closed with the app) is logged once; it never reaches a request.
   */
  #refundWhenResponded(subject: Subject, res: Res, holdsPermits: boolean): void {
    const options = this.#options
    whenResponded(this.#binding.raw(res), (failed) => {
      if (failed ? !options.skipFailedRequests : !options.skipSuccessfulRequests) return
      // The release gives a permit rule's units back already: refunding them too would free a
      // permit another request still holds, and every skipped request would raise the limit.
      const only = holdsPermits ? this.#quotaRuleNames() : undefined
      const refunds =
        only === undefined
          ? [this.limiter.refund(subject, { cost: 1 })]
          : only.map((rule) => this.limiter.refund(subject, { cost: 1, rule }))
      for (const refund of refunds) {
        refund.catch((error: unknown) => {
          if (this.#refundFailed) return
          this.#refundFailed = true
          this.warn(
            `giving back a skipped request's unit failed (${error instanceof Error ? error.message : String(error)}); reported once`,
          )
        })
      }
    })
  }

  /** The rules in force that count units rather than hold permits. */
  #quotaRuleNames(): string[] {
    const names: string[] = []
    for (const rule of this.limiter.rules) {
      if (!holdsPermits(rule.algorithm)) names.push(rule.name)
    }
    return names
  }

  /**
   * `overloadStatus` (503) when a concurrency rule denied: the service is overloaded, which is
   * not the client's quota.
   */
  #deniedStatus(decision: Decision): number {
    const options = this.#options
    if (options.overloadStatus === options.status) return options.status
    return this.#deniedByPermits(decision) ? options.overloadStatus : options.status
  }

  /**
   * Whether the denying rule limits requests in flight. Only decisions of checks that applied
   * such a rule have `release`, so other denials cost no lookup.
   */
  #deniedByPermits(decision: Decision): boolean {
    if (decision.release === undefined) return false
    const name = decision.rule
    const rule = this.limiter.rules.find((candidate) => candidate.name === name)
    return rule !== undefined && holdsPermits(rule.algorithm)
  }

  /** The problem+json body of a denial, its detail saying over what span the limit counts. */
  #problem(decision: Decision, status: number): string {
    const span: LimitSpan = this.#deniedByPermits(decision)
      ? 'at-once'
      : decision.rule === undefined
        ? undefined
        : this.limiter.windowOf(decision.rule, decision)
    return rateLimitedProblem(decision, status, span)
  }

  async #limitedByHook(decision: Decision, status: number, req: Req, res: Res): Promise<boolean> {
    const options = this.#options
    try {
      await options.onLimited?.(req, res, decision)
    } catch (error) {
      this.#hookFailed('onLimited', error)
    }
    if (!this.#binding.responded(res)) {
      this.#binding.sendProblem(res, status, this.#problem(decision, status))
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
