import { EventEmitter } from 'node:events'
import { type Clock, systemClock } from './clock'
import type { ConfigError } from './config/config-error'
import type { DianaConfig } from './config/config-schema'
import { checkConfigOptions, readLimiterConfig, startLiveConfig } from './config/limiter-config'
import type { ConfigEvent, ConfigLogger, LiveConfig, RemoteConfigSource } from './config/live-config'
import { decide, unlimited } from './decision'
import { hint, shortened } from './did-you-mean'
import { peerHint } from './peer-options'
import { compileRules, ruleLabel } from './rules/compile-rules'
import type { CompiledRule } from './rules/compiled-rule'
import { RuleError } from './rules/rule-issue'
import { createStore, type StoreOptions } from './stores/create-store'
import type { Evaluation, Store } from './stores/store'
import type { CheckOptions, Decision, Rule, Subject } from './types'

export interface LimiterOptions {
  /**
   * The rules to enforce, in priority order (ties for the binding rule go to the first).
   * Required unless `config` names a file with them.
   */
  rules?: readonly Rule[]
  /**
   * Path of a `diana.yaml` (see docs/configuration.md), instead of `rules`. Read and validated
   * at creation (a `ConfigError` with `FILE:LINE:COL` lines if invalid); its `store` is used
   * unless `store` is given; its `remote` section subscribes to a configuration centre.
   */
  config?: string
  /**
   * Watch the `config` file: a valid edit is in force within a second, counters of unchanged
   * rules carry on; an invalid edit is rejected (`configError`) and the rules in force stay.
   * @default true
   */
  watch?: boolean
  /**
   * Further remote configuration sources (etcd, Consul, an HTTP URL...), lowest precedence
   * first, after the `remote` of the file. Their rules override local rules of the same name.
   */
  sources?: readonly RemoteConfigSource[]
  /**
   * Where rejected configurations and unreachable sources are reported, one line each.
   * @default console
   */
  logger?: ConfigLogger
  /**
   * Largest configuration document taken, in bytes: the `config` file, each remote document
   * and its snapshot. A larger one is rejected (`ConfigError`) before it is parsed.
   * @default 262_144 (256 KiB)
   */
  maxConfigBytes?: number
  /**
   * Where counters live: `{ type: 'memory' }` (default) or a ready {@link Store}.
   * @default { type: 'memory', maxKeys: 100_000 }
   */
  store?: StoreOptions | Store
  /**
   * Epoch milliseconds; drives the memory store. Inject a fake clock in tests.
   * @default Date.now
   */
  clock?: Clock
}

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
 * Key of {@link Limiter}'s synchronous check, for the HTTP adapters. A registered symbol, so an
 * adapter from the ESM build finds it on a limiter from the CJS build, and the other way round.
 */
export const checkNow: unique symbol = Symbol.for('diana-limiter.checkNow')

const OPTION_NAMES = ['rules', 'config', 'watch', 'sources', 'logger', 'store', 'clock', 'maxConfigBytes']

/**
 * Decides requests against a rule set. Build it with {@link createLimiter}; share one per
 * process. Rules can be swapped at run time with {@link Limiter.setRules}.
 */
export class Limiter extends EventEmitter<LimiterEvents> {
  readonly #store: Store
  #rules: readonly CompiledRule[]
  #closed = false
  /** Whether anyone listens to `decision` or `denied`; kept current so checks skip reporting cheaply. */
  #reporting = false
  readonly #config: DianaConfig | undefined
  readonly #live: LiveConfig | undefined

  constructor(options: LimiterOptions) {
    super()
    checkOptions(options)
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
    this.#store = createStore(options.store ?? (file?.config.store as StoreOptions | undefined), clock)
    forwardStoreEvents(this.#store, this)
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

  /** The rules in force, as written. */
  get rules(): Rule[] {
    return this.#rules.map((rule) => rule.rule)
  }

  /**
   * The window in milliseconds of the rule in force named `name`, or undefined. Adapters use it
   * for the `w` of the `RateLimit-Policy` header without re-parsing rule windows per request.
   */
  windowOf(name: string): number | undefined {
    const rules = this.#rules
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      if (rule.name === name) return rule.params.windowMs
    }
    return undefined
  }

  /**
   * Replaces the whole rule set in one step, or throws a {@link RuleError} and keeps the rules
   * in force. Counters of rules whose definition did not change carry on.
   */
  setRules(rules: readonly Rule[]): void {
    this.#rules = compileOrThrow(rules)
    this.#store.retain?.(this.#rules)
  }

  /**
   * Decides one request. Resolves with a {@link Decision}; rejects only for a programming error
   * (bad subject or cost, closed limiter), never because a store failed.
   */
  check(subject: Subject, options?: CheckOptions): Promise<Decision> {
    try {
      const decision = this.#decideNow(subject, options?.cost ?? 1)
      return decision instanceof Promise ? decision : Promise.resolve(decision)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * {@link check} without the promise when the store answers synchronously (the memory store),
   * and throwing instead of rejecting: the HTTP adapters then pass a request on in the same
   * tick, sparing the promises and microtasks of a request path that has nothing to wait for.
   */
  [checkNow](subject: Subject, cost: number): Decision | Promise<Decision> {
    return this.#decideNow(subject, cost)
  }

  #decideNow(subject: Subject, cost: number): Decision | Promise<Decision> {
    // Timing costs a clock read, so it is done only for someone listening (e.g. metrics).
    const started = this.#reporting && this.listenerCount('decision') > 0 ? performance.now() : -1
    if (this.#closed) throw new Error('limiter is closed')
    if (typeof cost !== 'number' || !(cost >= 0) || !Number.isFinite(cost)) {
      throw new TypeError(`check: cost must be a finite number >= 0 (got ${String(cost)})`)
    }
    if (subject === null || typeof subject !== 'object')
      throw new TypeError('check: subject must be an object')
    const ruleSet = this.#rules
    const subjectKeys: string[] = new Array(ruleSet.length)
    // The applicable rules, copied out only once a rule turns out not to apply: usually every
    // rule does, and the rule set itself is passed on.
    let some: CompiledRule[] | undefined
    let count = 0
    for (let i = 0; i < ruleSet.length; i++) {
      const rule = ruleSet[i] as CompiledRule
      const key = rule.subjectKey(subject)
      if (key === undefined) {
        some ??= ruleSet.slice(0, i)
        continue
      }
      some?.push(rule)
      subjectKeys[count++] = key
    }
    if (count === 0) return this.#report(unlimited(), subject, started)
    if (count < subjectKeys.length) subjectKeys.length = count
    const rules = some ?? ruleSet
    const evaluation = this.#store.evaluate({ rules, subjectKeys, cost })
    if (evaluation instanceof Promise) {
      return evaluation.then((done) => this.#finish(rules, done, subject, started))
    }
    return this.#finish(rules, evaluation, subject, started)
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
    evaluation: Evaluation,
    subject: Subject,
    started: number,
  ): Decision {
    return this.#report(decide(rules, evaluation.verdicts, evaluation.degraded), subject, started)
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

/** Builds a limiter synchronously; see {@link LimiterOptions}. */
export function createLimiter(options: LimiterOptions): Limiter {
  return new Limiter(options)
}

function compileOrThrow(rules: unknown): readonly CompiledRule[] {
  const result = compileRules(rules)
  if (!result.ok) {
    throw new RuleError(result.issues, (issue) => {
      const [index, ...field] = issue.path
      const where = typeof index === 'number' ? `${ruleLabel(rules, index)}: ` : 'rules: '
      const named = field.map((part) => (typeof part === 'string' ? shortened(part) : part)).join('.')
      return `${where}${named.length > 0 ? `${named}: ` : ''}${issue.message}`
    })
  }
  // Frozen: a store may then remember what it derived from this very list (its tables).
  return Object.freeze(result.rules)
}

function checkOptions(options: LimiterOptions): void {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('createLimiter: expected an options object such as { rules: [...] }')
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new TypeError(`createLimiter: unknown option "${key}"${peerHint(key) || hint(key, OPTION_NAMES)}`)
    }
  }
  checkConfigOptions(options)
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new TypeError('createLimiter: clock must be a function returning epoch milliseconds')
  }
}

/** Stores that can fail (Redis) report going degraded and recovering; the limiter re-emits both. */
function forwardStoreEvents(store: Store, limiter: Limiter): void {
  if (!(store instanceof EventEmitter)) return
  store.on('degraded', (info) => limiter.emit('degraded', info))
  store.on('recovered', (info) => limiter.emit('recovered', info))
}
