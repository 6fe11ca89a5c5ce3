import { EventEmitter } from 'node:events'
import { type RuleVerdict, refundOf } from './algorithm'
import { type Clock, systemClock } from './clock'
import { isAdaptive } from './concurrency/adaptive-algorithm'
import type { Permit } from './concurrency/adaptive-gate'
import { AdaptiveRules, priorityOf, shareOf } from './concurrency/adaptive-rules'
import { concurrencyVerdict } from './concurrency/concurrency-verdict'
import type { ConfigError } from './config/config-error'
import type { DianaConfig } from './config/config-schema'
import { readLimiterConfig, startLiveConfig } from './config/limiter-config'
import type { ConfigEvent, LiveConfig, LiveConfigStatus } from './config/live-config'
import { type Decision, decide, unlimited } from './decision'
import { hint, quoted, shortened } from './did-you-mean'
import { DEFAULT_LIMITER_NAME } from './limiter-name'
import { checkLimiterOptions, type LimiterOptions } from './limiter-options'
import { isPromiseLike, type MaybePromise, whenReady } from './maybe-async'
import { compileRules, ruleLabel } from './rules/compile-rules'
import type { CompiledRule } from './rules/compiled-rule'
import { ruleFor, VariantWindows, withVariants } from './rules/overrides'
import type { Rule } from './rules/rule'
import { RuleError } from './rules/rule-issue'
import { RuleSet } from './rules/rule-set'
import { CheckRecord } from './stores/check-record'
import { createStore, type StoreOptions } from './stores/create-store'
import type { EvaluationRequest, Store } from './stores/store'
import type { CheckOptions, PeekOptions, RefundOptions, ResetOptions, Subject } from './types'

export type { LimiterOptions } from './limiter-options'

export interface LimiterEvents {
  /**
   * Every decision, when someone listens, with the milliseconds the check took (measured only
   * while a `decision` listener is attached).
   */
  decision: [decision: Decision, subject: Subject, elapsedMs: number]
  /** Every denied decision, when someone listens. */
  denied: [decision: Decision, subject: Subject]
  /**
   * The shared store (Redis) stopped answering: decisions are taken locally, with
   * `degraded: true`, by its `onFailure` policy until `recovered`. Once per outage.
   */
  degraded: [info: { reason: string; policy: string }]
  /** The shared store answers again and decisions are shared again. */
  recovered: [info: { downMs: number }]
  /** A configuration (file edit, remote push, snapshot) was validated and its rules put in force. */
  config: [event: ConfigEvent]
  /**
   * A configuration was rejected (a {@link ConfigError} with `FILE:LINE:COL` lines) or a source
   * failed; the rules in force stay. Once per distinct document or outage.
   */
  configError: [error: ConfigError | Error]
}

/**
 * What {@link Limiter.inspect} reports: the store's and the configuration's state.
 * @internal For diana-limiter/dashboard.
 */
export interface LimiterInspection {
  store: {
    /** A store shared between instances (Redis), rather than this process's memory. */
    shared: boolean
    /** Decisions are taken locally because the shared store failed (its circuit breaker is open). */
    degraded: boolean
    /** Live instances the shared store last saw, when it counts them. */
    instances: number | undefined
  }
  /** Rule sets put in force since creation, the first included. */
  rulesVersion: number
  /** Where the rules come from; undefined when they were given in code without sources. */
  config: LiveConfigStatus | undefined
}

const PEEK_OPTION_NAMES = ['cost']
const RESET_OPTION_NAMES = ['rule']
const REFUND_OPTION_NAMES = ['cost', 'rule']

/**
 * Decides requests against a rule set. Build it with {@link createLimiter}; share one per
 * process. Rules can be swapped at run time with {@link Limiter.setRules}.
 */
export class Limiter extends EventEmitter<LimiterEvents> {
  readonly #store: Store
  #rules: RuleSet
  #closed = false
  /** Whether anyone listens to `decision` or `denied`; kept current so checks skip reporting cheaply. */
  #reporting = false
  /** Stops relaying the store's outage events (see {@link detachStoreEvents}). */
  #unforward: (() => void) | undefined
  readonly #config: DianaConfig | undefined
  readonly #live: LiveConfig | undefined
  /** See {@link LimiterOptions.name}. */
  readonly name: string
  /** Windows of decisions bound by an override with its own window, for the headers. */
  readonly #variantWindows = new VariantWindows()
  /** The record every check reuses when the store decides into it (see `CheckRecord`). */
  readonly #record: CheckRecord | undefined
  /**
   * Whether some rule in force holds permits while a request is in flight (`concurrency`,
   * `adaptive-concurrency`): its checks take {@link #decideHolding}, the others stay as they were.
   */
  #holds = false
  readonly #adaptive = new AdaptiveRules()
  /** Times permits: a request's latency, how long a permit was held. */
  readonly #monotonic: Clock
  /** Rule sets put in force, for {@link inspect}; counted where they are swapped, not per check. */
  #rulesVersion = 1

  constructor(options: LimiterOptions) {
    super()
    checkLimiterOptions(options)
    this.name = options.name ?? DEFAULT_LIMITER_NAME
    const emitter = this as EventEmitter
    emitter.on('newListener', (event: string | symbol) => {
      if (event === 'decision' || event === 'denied') this.#reporting = true
    })
    emitter.on('removeListener', () => {
      this.#reporting = this.listenerCount('decision') + this.listenerCount('denied') > 0
    })
    const clock = options.clock ?? systemClock
    const file = readLimiterConfig(options)
    this.#config = file?.config
    this.#rules = compileOrThrow(file ? file.config.rules : options.rules)
    this.#holds = holdsPermits(this.#rules)
    // The limiter's clock when a test drives it; otherwise the monotonic one, for latencies.
    this.#monotonic = options.clock ?? (() => performance.now())
    this.#store = createStore(options.store ?? (file?.config.store as StoreOptions | undefined), clock)
    this.#record = this.#store.evaluateInto === undefined ? undefined : new CheckRecord()
    this.#unforward = forwardStoreEvents(this.#store, this)
    // Events wait for a microtask, so listeners attached right after createLimiter see the first.
    this.#live = startLiveConfig(options, file, {
      apply: (rules) => this.setRules(rules),
      applied: (event) => queueMicrotask(() => this.emit('config', event)),
      rejected: (error) => queueMicrotask(() => this.emit('configError', error)),
    })
  }

  /**
   * The `config` file as read at creation (`response` is read by the HTTP adapters); undefined
   * when the rules were given in code. The rules in force are {@link rules}.
   */
  get config(): DianaConfig | undefined {
    return this.#config
  }

  /**
   * Resolves once the remote sources answered at start (their rules, if valid, are in force)
   * or their startup wait ran out (`remote.nacos.startupWait`, default 2 s). Never rejects;
   * resolves at once without remote sources. Checks need not wait for it.
   */
  ready(): Promise<void> {
    return this.#live?.ready() ?? Promise.resolve()
  }

  /**
   * The store this limiter decides in. A limiter built over it (`store: limiter.sharedStore`)
   * counts every rule of the same definition in the same place: diana-limiter/nestjs checks a
   * route's own rules and the module's in one all-or-nothing check that way. Closing either
   * limiter closes the store.
   *
   * @internal For Diana's adapters; not part of the public API, and it may change in any release.
   */
  get sharedStore(): Store {
    return this.#store
  }

  /**
   * Stops relaying the store's `degraded` / `recovered` as this limiter's events, leaving the
   * store open. A limiter over another's `sharedStore` that is replaced without being closed
   * (closing it would close the store) would otherwise leave its listeners on the store.
   *
   * @internal For Diana's adapters; not part of the public API, and it may change in any release.
   */
  detachStoreEvents(): void {
    this.#unforward?.()
    this.#unforward = undefined
  }

  /** The rules in force, as written. */
  get rules(): Rule[] {
    return this.#rules.rules.map((rule) => rule.rule)
  }

  /**
   * The window in milliseconds of the rule in force named `name`, or undefined. Adapters use it
   * for the `w` of the `RateLimit-Policy` header without re-parsing rule windows per request.
   * Given the `decision` too, the window of the override that bound it, if it has its own.
   */
  windowOf(name: string, decision?: Decision): number | undefined {
    const own = decision === undefined ? undefined : this.#variantWindows.of(decision)
    if (own !== undefined) return own
    const rules = this.#rules.rules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      if (rule.name === name) return rule.params.windowMs
    }
    return undefined
  }

  /**
   * The dimensions of the rule in force named `name`, or undefined: read from the compiled rule
   * set per call (no copy), for `diana serve` to tell which descriptor a decision speaks for.
   * @internal
   */
  dimensionsOf(name: string): readonly string[] | undefined {
    const rules = this.#rules.rules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      if (rule.name === name) return rule.dimensions
    }
    return undefined
  }

  /**
   * Replaces the whole rule set in one step, or throws a {@link RuleError} and keeps the rules
   * in force. Counters of rules whose definition did not change carry on.
   */
  setRules(rules: readonly Rule[]): void {
    this.#rules = compileOrThrow(rules)
    this.#rulesVersion += 1
    this.#holds = holdsPermits(this.#rules)
    const all = withVariants(this.#rules.rules)
    this.#adaptive.retain(all)
    this.#store.retain?.(all)
  }

  /**
   * The store's and the configuration's state, read on demand (nothing is kept per check).
   * @internal For diana-limiter/dashboard; it may change in any release.
   */
  inspect(): LimiterInspection {
    const store = this.#store as Store & { instances?: unknown; degraded?: unknown }
    const shared = typeof store.instances === 'number'
    return {
      store: {
        shared,
        degraded: store.degraded === true,
        instances: shared ? (store.instances as number) : undefined,
      },
      rulesVersion: this.#rulesVersion,
      config: this.#live?.status(),
    }
  }

  /**
   * Decides one request. Resolves with a {@link Decision}; rejects only for a programming error
   * (bad subject or cost, closed limiter), never because a store failed.
   */
  check(subject: Subject, options?: CheckOptions): Promise<Decision> {
    try {
      // A Promise passes through as it is; a Decision is wrapped.
      return Promise.resolve(this.#decideNow(subject, costIn(options)))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * {@link check} without the promise when the store answers synchronously (the memory store),
   * and throwing instead of rejecting: the HTTP adapters then pass a request on in the same
   * tick, sparing the promises and microtasks of a request path that has nothing to wait for.
   * `cost` is checked as `check` checks it.
   *
   * A plain name rather than a private or `Symbol()` key because the package ships two builds
   * (ESM and CommonJS) with a class each: an adapter loaded from one must find this method on
   * a limiter made by the other. Adapters fall back to {@link check} where it is missing.
   *
   * @internal For Diana's adapters; not part of the public API, and it may change in any release.
   */
  checkNow(subject: Subject, cost: number): MaybePromise<Decision> {
    return this.#decideNow(subject, cost)
  }

  #decideNow(subject: Subject, cost: number): MaybePromise<Decision> {
    // Timing costs a clock read, so it is done only for someone listening (e.g. metrics).
    const started = this.#reporting && this.listenerCount('decision') > 0 ? performance.now() : -1
    if (this.#holds) return this.#decideHolding(subject, cost, started)
    const store = this.#store
    const reused = this.#record
    if (reused !== undefined) {
      if (!this.#fill(reused, 'check', subject, cost, undefined))
        return this.#report(unlimited(), subject, started)
      ;(store as Required<Pick<Store, 'evaluateInto'>>).evaluateInto(reused)
      return this.#finish(reused.rules, reused.verdicts, false, subject, started)
    }
    const request = this.#request('check', subject, cost, undefined)
    if (request === undefined) return this.#report(unlimited(), subject, started)
    const evaluation = store.evaluate(request)
    // Branched here rather than through whenReady: the synchronous path then builds no closure
    // per check.
    if (isPromiseLike(evaluation)) {
      return Promise.resolve(evaluation).then((done) =>
        this.#finish(request.rules, done.verdicts, done.degraded, subject, started),
      )
    }
    return this.#finish(request.rules, evaluation.verdicts, evaluation.degraded, subject, started)
  }

  /**
   * What {@link check} would decide for `subject` now, consuming nothing: no quota taken, no
   * `blockFor` penalty started (a denial that would start one reports its wait all the same).
   * Emits no `decision` or `denied` event, so metrics do not count it. Resolves with a
   * {@link Decision}; rejects only for a programming error, as `check` does.
   */
  peek(subject: Subject, options?: PeekOptions): Promise<Decision> {
    try {
      readOptions('peek', options, PEEK_OPTION_NAMES)
      const peekable = this.#store.peek?.bind(this.#store)
      if (peekable === undefined) throw new TypeError('peek: the store does not implement peek')
      const request = this.#request('peek', subject, costIn(options), undefined)
      if (request === undefined) return Promise.resolve(unlimited())
      const rules = request.rules
      const stored = this.#holds ? withoutAdaptive(request) : request
      const now = this.#monotonic()
      const priority = priorityOf(subject.priority)
      const merge = (verdicts: readonly RuleVerdict[]) =>
        stored === request
          ? verdicts
          : merged(rules, verdicts, (rule, i) =>
              this.#adaptive.peek(rule, request.subjectKeys[i] as string, priority, now),
            )
      if (stored === undefined) return Promise.resolve(decide(rules, merge([]), false))
      return Promise.resolve(
        whenReady(peekable(stored), (done) => decide(rules, merge(done.verdicts), done.degraded)),
      )
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Forgets `subject`'s state in every applicable rule, or only in `options.rule` (the name of
   * a rule in force; a rule that does not apply to the subject is left alone), and lifts any
   * `blockFor` penalty on it: its next check starts from a whole quota. Resolves once done;
   * rejects only for a programming error (bad subject, unknown rule name, closed limiter), never
   * because a store failed (the Redis store then forgets locally, see docs/redis.md).
   */
  reset(subject: Subject, options?: ResetOptions): Promise<void> {
    try {
      readOptions('reset', options, RESET_OPTION_NAMES)
      const store = this.#store
      if (store.reset === undefined) throw new TypeError('reset: the store does not implement reset')
      const only = this.#ruleNamed('reset', options?.rule)
      const filled = this.#request('reset', subject, 0, only)
      const request = filled === undefined ? undefined : withoutAdaptive(filled)
      if (request === undefined) return Promise.resolve()
      return Promise.resolve(store.reset(request.rules, request.subjectKeys))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Gives back up to `options.cost` units (default 1) to `subject` in every applicable rule, or
   * only in `options.rule`: what "reserve, then settle" needs, when a request was charged an
   * estimate and its real cost turns out lower (see docs/limiter-api.md). Never more than was
   * taken: a window's count does not go below 0, a token bucket not above its capacity, a
   * leaky bucket's queue not below empty; a `blockFor` penalty stays. Resolves once done;
   * rejects only for a programming error (bad subject or cost, unknown rule name, an algorithm
   * without `refund`, closed limiter), never because a store failed.
   */
  refund(subject: Subject, options?: RefundOptions): Promise<void> {
    try {
      readOptions('refund', options, REFUND_OPTION_NAMES)
      const store = this.#store
      if (store.refund === undefined) throw new TypeError('refund: the store does not implement refund')
      const only = this.#ruleNamed('refund', options?.rule)
      const filled = this.#request('refund', subject, costIn(options), only)
      const request = filled === undefined ? undefined : withoutAdaptive(filled)
      if (request === undefined) return Promise.resolve()
      for (const rule of request.rules) refundOf(rule)
      return Promise.resolve(store.refund(request.rules, request.subjectKeys, request.cost))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * A check under rules that hold permits. Adaptive rules are decided here, in this process,
   * and first, since they are cheap: a request they turn away costs the store nothing. One
   * they admit goes to the store with the other rules; when the store denies it (or degrades to
   * denying), its adaptive permits are handed back without a latency sample. An admitted
   * decision gets `release()`, which frees its permits: the adaptive ones with the request's
   * latency as a sample, the store's (`concurrency`) through `Store.refund`.
   */
  #decideHolding(subject: Subject, cost: number, started: number): MaybePromise<Decision> {
    const request = this.#request('check', subject, cost, undefined)
    if (request === undefined) return this.#report(unlimited(), subject, started)
    const { rules, subjectKeys } = request
    const takenAt = this.#monotonic()
    const priority = priorityOf(subject.priority)
    const local: RuleVerdict[] = []
    const permits: Permit[] = []
    let localDenied = false
    /** Each adaptive rule's limit for this priority, by name: what a decision it binds reports. */
    const shares = new Map<string, number>()
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      if (!isAdaptive(rule)) continue
      const gate = this.#adaptive.gate(rule, subjectKeys[i] as string, takenAt)
      const permit = gate.tryAcquire(priority, takenAt)
      if (permit !== undefined) permits.push(permit)
      else if (!rule.shadow) localDenied = true
      local.push(
        concurrencyVerdict({
          allowed: permit !== undefined,
          remaining: gate.remaining(priority),
          inFlight: gate.inFlight,
          latencyMs: gate.limit.latencyMs,
        }),
      )
      shares.set(rule.name, shareOf(gate, priority))
    }
    const stored = withoutAdaptive(request)
    const settle = (verdicts: readonly RuleVerdict[], degraded: boolean): Decision => {
      let next = 0
      const all = merged(rules, verdicts, () => local[next++] as RuleVerdict)
      const decision = decide(rules, all, degraded)
      if (rules !== this.#rules.rules) this.#variantWindows.note(rules, decision)
      const share = decision.rule === undefined ? undefined : shares.get(decision.rule)
      if (share !== undefined) decision.limit = share
      if (!decision.allowed) {
        for (const permit of permits) permit.release(undefined, takenAt)
        if (local.length > 0 || rules.some(isStorePermitRule)) decision.release = noRelease
      } else {
        const held = heldByStore(rules, all, subjectKeys, degraded)
        if (local.length > 0 || held !== undefined) {
          decision.release = this.#releaser(permits, held, cost, takenAt, decision.delayMs)
        }
      }
      return this.#report(decision, subject, started)
    }
    if (localDenied || stored === undefined) {
      const verdicts = stored === undefined ? [] : stored.rules.map(notAsked)
      return settle(verdicts, false)
    }
    const evaluation = this.#store.evaluate(stored)
    if (isPromiseLike(evaluation)) {
      return Promise.resolve(evaluation).then(
        (done) => settle(done.verdicts, done.degraded),
        (error: unknown) => {
          for (const permit of permits) permit.release(undefined, takenAt)
          throw error
        },
      )
    }
    return settle(evaluation.verdicts, evaluation.degraded)
  }

  /**
   * The `release()` of an admitted decision: once, whoever calls it and however often. The
   * adapters pass `abandoned` when the client went away before the response was sent: how long
   * that took says nothing about the service, and a client hanging up early on purpose must not
   * make it look fast, so the adaptive permits are freed without a sample. The wait a leaky
   * bucket in `shape` mode imposed (`delayMs`) is Diana's own doing, not the service's, so it
   * is taken out of the sample: otherwise shaping would read as queueing and shrink the limit.
   */
  #releaser(
    permits: readonly Permit[],
    held: HeldByStore | undefined,
    cost: number,
    takenAt: number,
    delayMs: number,
  ): (abandoned?: unknown) => void {
    let released = false
    return (abandoned) => {
      if (released) return
      released = true
      const now = this.#monotonic()
      const heldMs = Math.max(0, now - takenAt)
      const sample = abandoned === true ? undefined : Math.max(0, heldMs - delayMs)
      for (const permit of permits) permit.release(sample, now)
      if (held !== undefined) this.#giveBack(held, cost, heldMs)
    }
  }

  /**
   * Hands the store's permits back. `release()` is called from a response's end, where nobody
   * could handle a failure: a refund that fails is left to the rule's `window`, after which
   * the store reclaims the permit anyway.
   */
  #giveBack(held: HeldByStore, cost: number, heldMs: number): void {
    const store = this.#store
    if (store.refund === undefined) return
    try {
      const done = store.refund(held.rules, held.subjectKeys, cost, heldMs, held.degraded)
      if (isPromiseLike(done)) Promise.resolve(done).catch(() => {})
    } catch {
      // See above: the window reclaims what could not be handed back.
    }
  }

  /** {@link fill} into a fresh record, for a store that may keep it; undefined when no rule applies. */
  #request(
    method: string,
    subject: Subject,
    cost: number,
    only: CompiledRule | undefined,
  ): EvaluationRequest | undefined {
    const record = new CheckRecord()
    return this.#fill(record, method, subject, cost, only) ? record : undefined
  }

  /**
   * Fills `record` with the applicable rules (all in force, or only `only`), the subject's key
   * part for each, and `cost`; false when none applies. The one place that decides which rules
   * apply to a subject, for check, peek, reset and refund alike. Throws a TypeError for a bad
   * subject or cost, and an Error once the limiter is closed.
   */
  #fill(
    record: CheckRecord,
    method: string,
    subject: Subject,
    cost: number,
    only: CompiledRule | undefined,
  ): boolean {
    if (
      this.#closed ||
      !(cost >= 0) ||
      !Number.isFinite(cost) ||
      subject === null ||
      typeof subject !== 'object'
    )
      throw this.#refusal(method, cost)
    const ruleSet = only === undefined ? this.#rules : undefined
    const listed = ruleSet === undefined ? [only as CompiledRule] : ruleSet.rules
    const subjectKeys = record.subjectKeys
    if (subjectKeys.length !== listed.length) subjectKeys.length = listed.length
    // The applicable rules, copied out only once a rule turns out not to apply: usually every
    // rule does, and the rule set itself is passed on.
    let some: CompiledRule[] | undefined
    let count = 0
    for (let i = 0; i < listed.length; i++) {
      const inForce = listed[i] as CompiledRule
      const key = inForce.subjectKey(subject)
      // An override may count this subject's value under rules of its own, or not at all.
      const rule = key === undefined ? undefined : ruleFor(inForce, subject)
      if (rule === undefined) {
        some ??= listed.slice(0, i)
        continue
      }
      if (rule !== inForce) some ??= listed.slice(0, i)
      some?.push(rule)
      subjectKeys[count++] = key as string
    }
    if (count === 0) return false
    if (count < subjectKeys.length) subjectKeys.length = count
    record.rules = some ?? listed
    record.ruleSet = some === undefined ? ruleSet : undefined
    record.cost = cost
    return true
  }

  /** Why {@link fill} refuses a check: out of its way, so that the check path stays small. */
  #refusal(method: string, cost: number): Error {
    if (this.#closed) return new Error('limiter is closed')
    if (typeof cost !== 'number' || !(cost >= 0) || !Number.isFinite(cost)) {
      return new TypeError(`${method}: cost must be a finite number >= 0 (got ${String(cost)})`)
    }
    return new TypeError(`${method}: subject must be an object`)
  }

  /** The rule in force named `name` (undefined: every rule), or a TypeError naming the option. */
  #ruleNamed(method: string, name: unknown): CompiledRule | undefined {
    if (name === undefined) return undefined
    if (typeof name !== 'string') {
      throw new TypeError(`${method}: rule must be the name of a rule in force (got ${typeof name})`)
    }
    for (const rule of this.#rules.rules) if (rule.name === name) return rule
    const names = this.#rules.rules.map((rule) => rule.name)
    throw new TypeError(`${method}: rule ${quoted(name)} is not in force${hint(name, names)}`)
  }

  /** Stops the limiter and releases its store. Further checks reject. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#live?.close()
    await this.#store.close()
  }

  #finish(
    rules: readonly CompiledRule[],
    verdicts: readonly RuleVerdict[],
    degraded: boolean,
    subject: Subject,
    started: number,
  ): Decision {
    const decision = decide(rules, verdicts, degraded)
    if (rules !== this.#rules.rules) this.#variantWindows.note(rules, decision)
    return this.#report(decision, subject, started)
  }

  #report(decision: Decision, subject: Subject, started: number): Decision {
    if (!this.#reporting) return decision
    if (this.listenerCount('decision') > 0) {
      this.emit('decision', decision, subject, started < 0 ? 0 : performance.now() - started)
    }
    if (!decision.allowed && this.listenerCount('denied') > 0) this.emit('denied', decision, subject)
    return decision
  }
}

/** The `cost` option, 1 when left out; anything else but a number (null too) fails the cost check. */
function costIn(options: { cost?: number } | undefined): number {
  const cost = options?.cost
  return cost === undefined ? 1 : cost
}

/** Builds a limiter synchronously; see {@link LimiterOptions}. */
export function createLimiter(options: LimiterOptions): Limiter {
  return new Limiter(options)
}

/** Compiles a rule list or throws a {@link RuleError} naming every problem. */
export function compileOrThrow(rules: unknown): RuleSet {
  const result = compileRules(rules)
  if (!result.ok) {
    throw new RuleError(result.issues, (issue) => {
      const [index, ...field] = issue.path
      const where = typeof index === 'number' ? `${ruleLabel(rules, index)}: ` : 'rules: '
      const named = field
        .map((part) => (typeof part === 'string' ? `.${shortened(part)}` : `[${part}]`))
        .join('')
        .replace(/^\./, '')
      return `${where}${named.length > 0 ? `${named}: ` : ''}${issue.message}`
    })
  }
  return new RuleSet(result.rules)
}

/**
 * Checks the options object of `method` for unknown keys: a misspelt `rule` must not quietly
 * reset or refund every rule instead of one.
 */
function readOptions(method: string, options: object | undefined, names: readonly string[]): void {
  if (options === undefined) return
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`${method}: options must be an object such as { ${names[0]}: ... }`)
  }
  for (const key of Object.keys(options)) {
    if (!names.includes(key)) {
      throw new TypeError(
        `${method}: unknown option ${quoted(key)}${hint(key, names)} (known: ${names.join(', ')})`,
      )
    }
  }
}

/** Stores that can fail (Redis) report going degraded and recovering; the limiter re-emits both. */
/** Relays the store's outage events as the limiter's; returns what stops relaying them. */
function forwardStoreEvents(store: Store, limiter: Limiter): (() => void) | undefined {
  if (!(store instanceof EventEmitter)) return undefined
  const degraded = (info: unknown) => limiter.emit('degraded', info as LimiterEvents['degraded'][0])
  const recovered = (info: unknown) => limiter.emit('recovered', info as LimiterEvents['recovered'][0])
  store.on('degraded', degraded)
  store.on('recovered', recovered)
  return () => {
    store.off('degraded', degraded)
    store.off('recovered', recovered)
  }
}

/** The rules of an admitted check whose store holds permits for it, with their keys. */
interface HeldByStore {
  rules: CompiledRule[]
  subjectKeys: string[]
  /** Taken by a degraded evaluation: locally, so only given back locally (see `Store.refund`). */
  degraded: boolean
}

function holdsPermits(rules: RuleSet): boolean {
  return rules.rules.some((rule) => isAdaptive(rule) || isStorePermitRule(rule))
}

function isStorePermitRule(rule: CompiledRule): boolean {
  return rule.algorithm.permits === true
}

function heldByStore(
  rules: readonly CompiledRule[],
  verdicts: readonly RuleVerdict[],
  subjectKeys: readonly string[],
  degraded: boolean,
): HeldByStore | undefined {
  let held: HeldByStore | undefined
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule
    // A shadow rule that would have denied took nothing, so it has nothing to give back.
    if (!isStorePermitRule(rule) || !(verdicts[i] as RuleVerdict).allowed) continue
    held ??= { rules: [], subjectKeys: [], degraded }
    held.rules.push(rule)
    held.subjectKeys.push(subjectKeys[i] as string)
  }
  return held
}

/** The request without its adaptive rules, which no store sees; undefined when none is left. */
function withoutAdaptive(request: EvaluationRequest): EvaluationRequest | undefined {
  const { rules, subjectKeys } = request
  if (!rules.some(isAdaptive)) return request
  const record = new CheckRecord()
  const kept: CompiledRule[] = []
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule
    if (isAdaptive(rule)) continue
    kept.push(rule)
    record.subjectKeys.push(subjectKeys[i] as string)
  }
  if (kept.length === 0) return undefined
  record.rules = kept
  record.cost = request.cost
  return record
}

/**
 * The verdicts of every rule of a check, in its order: the store's, in the order of the rules
 * it was given, and the adaptive rules' from `adaptive(rule, i)`.
 */
function merged(
  rules: readonly CompiledRule[],
  stored: readonly RuleVerdict[],
  adaptive: (rule: CompiledRule, i: number) => RuleVerdict,
): RuleVerdict[] {
  const all: RuleVerdict[] = []
  let next = 0
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule
    all.push(isAdaptive(rule) ? adaptive(rule, i) : (stored[next++] as RuleVerdict))
  }
  return all
}

/**
 * The verdict of a store rule the check never reached because an adaptive rule turned the
 * request away first: nothing taken, nothing known; it allows, so the denial binds.
 */
function notAsked(rule: CompiledRule): RuleVerdict {
  return { allowed: true, remaining: rule.params.limit, resetMs: 0, retryAfterMs: 0, delayMs: 0 }
}

/** The `release()` of a denied decision: there is nothing to free. */
function noRelease(): void {}
