import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Cluster, Redis } from 'ioredis'
import type { Algorithm, RuleVerdict } from '../../algorithm'
import type { Clock } from '../../clock'
import type { CompiledRule } from '../../rules/compiled-rule'
import type { Evaluation, EvaluationRequest, Store } from '../store'
import { CircuitBreaker } from './circuit-breaker'
import { buildClient } from './client'
import { DenialCache } from './denial-cache'
import { buildEvaluateScript, HEARTBEAT_SCRIPT, RELEASE_SCRIPT, VERDICT_SEPARATOR } from './evaluate-script'
import { KeyLayout } from './keys'
import { LocalFallback } from './local-fallback'
import {
  type FailurePolicy,
  type RedisStoreOptions,
  type ResolvedRedisStoreOptions,
  resolveRedisStoreOptions,
} from './options'
import { RedisScript, type ScriptClient } from './script'

export interface RedisStoreEvents {
  /** Redis stopped answering; checks are decided locally by `policy` until it recovers. */
  degraded: [info: { reason: string; policy: FailurePolicy }]
  /** Redis answers again; checks are shared again. */
  recovered: [info: { downMs: number }]
}

interface PendingCheck {
  readonly rules: readonly CompiledRule[]
  readonly subjectKeys: readonly string[]
  readonly keys: readonly string[]
  readonly cost: number
  resolve(evaluation: Evaluation): void
}

/** What one rule's call of a Cluster check brought back. */
interface Reservation {
  verdict: RuleVerdict
  /** The state the call wrote ('' when it wrote none). */
  written: string
  replaced: string
}

const DAY_MS = 86_400_000
/** How long `closed` tells callers to wait while Redis is away. */
const CLOSED_RETRY_AFTER_MS = 1000

class TimeoutError extends Error {
  constructor(ms: number) {
    super(`no reply within ${ms} ms`)
  }
}

/**
 * Rule states shared in Redis or Redis Cluster, so every instance of an application counts
 * against the same limits. Each check is one script call deciding all its rules at once,
 * with Redis time; see docs/redis.md for the key layout, the Cluster protocol and what
 * happens when Redis fails. Checks never reject and never wait longer than
 * `commandTimeoutMs` because of Redis: they are then decided by the failure policy.
 */
export class RedisStore extends EventEmitter<RedisStoreEvents> implements Store {
  readonly #client: Redis | Cluster
  readonly #owned: boolean
  readonly #isCluster: boolean
  readonly #options: ResolvedRedisStoreOptions
  readonly #localClock: Clock
  readonly #keys: KeyLayout
  readonly #fallback: LocalFallback
  readonly #denials: DenialCache | undefined
  readonly #breaker: CircuitBreaker
  readonly #heartbeat: NodeJS.Timeout
  readonly #instanceId = randomUUID()
  readonly #releaseScript = new RedisScript(RELEASE_SCRIPT)
  readonly #heartbeatScript = new RedisScript(HEARTBEAT_SCRIPT)
  readonly #algorithms: Algorithm[] = []
  readonly #slots = new Map<Algorithm, string>()
  readonly #ruleArgs = new WeakMap<CompiledRule, string>()
  #script = new RedisScript(buildEvaluateScript([]))
  #pending: PendingCheck[] = []
  #flushScheduled = false
  #connected: Promise<void> | undefined
  #closed = false

  constructor(options: RedisStoreOptions, clock: Clock) {
    super()
    this.#options = resolveRedisStoreOptions(options)
    const built = buildClient(options)
    this.#client = built.client
    this.#owned = built.owned
    // Without a listener ioredis prints every connection error; the breaker reports instead.
    if (this.#owned) this.#client.on('error', () => {})
    this.#isCluster = (this.#client as Cluster).isCluster === true
    this.#localClock = this.#options.clockForTests ?? clock
    this.#keys = new KeyLayout(this.#options.keyPrefix)
    this.#fallback = new LocalFallback(clock, this.#options.fallbackMaxKeys)
    this.#denials =
      this.#options.denialCacheMaxKeys > 0 ? new DenialCache(this.#options.denialCacheMaxKeys) : undefined
    this.#breaker = new CircuitBreaker({
      failureThreshold: this.#options.failureThreshold,
      probeMinMs: this.#options.probeMinMs,
      probeMaxMs: this.#options.probeMaxMs,
      probe: () => this.#ping(),
      onOpen: (reason) => this.#wentDown(reason),
      onClose: (downMs) => this.#cameBack(downMs),
      now: () => performance.now(),
    })
    if (this.#client.status !== 'ready') {
      this.#connected = new Promise((resolve) => this.#client.once('ready', () => resolve()))
      this.#connected.then(() => {
        this.#connected = undefined
        this.#beat()
      })
      if (this.#client.status === 'wait') this.#client.connect().catch(() => {})
    } else {
      this.#beat()
    }
    this.#heartbeat = setInterval(() => this.#beat(), this.#options.heartbeatMs)
    this.#heartbeat.unref()
  }

  /** Live Diana instances last seen in Redis (this one included); the fallback's divisor. */
  get instances(): number {
    return this.#fallback.instances
  }

  /** True while checks are decided locally because Redis failed. */
  get degraded(): boolean {
    return this.#breaker.isOpen
  }

  /**
   * Resolves once Redis answers (and shared limiting is on), e.g. before serving traffic or
   * in tests; rejects after `timeoutMs`. Checks never need it: until then they are decided
   * by the failure policy.
   */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs
    for (;;) {
      try {
        await this.#ping()
        this.#breaker.reset()
        this.#breaker.success()
        await this.#beat()
        return
      } catch (error) {
        if (performance.now() > deadline) {
          throw new Error(`Redis store not ready after ${timeoutMs} ms: ${describe(error)}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    }
  }

  evaluate(request: EvaluationRequest): Evaluation | Promise<Evaluation> {
    const { rules, subjectKeys, cost } = request
    const keys: string[] = new Array(rules.length)
    for (let i = 0; i < rules.length; i++) {
      keys[i] = this.#keys.ruleKey(rules[i] as CompiledRule, subjectKeys[i] as string)
    }
    if (this.#denials) {
      const cached = this.#fromDenialCache(keys, cost)
      if (cached) return cached
    }
    if (this.#breaker.isOpen || this.#closed) return this.#degraded(request)
    for (let i = 0; i < rules.length; i++) this.#argsOf(rules[i] as CompiledRule)
    return new Promise<Evaluation>((resolve) => {
      const check: PendingCheck = { rules, subjectKeys, keys, cost, resolve }
      if (this.#isCluster && rules.length > 1) this.#sendAcrossSlots(check)
      else this.#enqueue(check)
    })
  }

  /** Redis keys expire on their own; only the local fallback holds tables per rule. */
  retain(rules: readonly CompiledRule[]): void {
    this.#fallback.retain(rules)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#breaker.stop()
    clearInterval(this.#heartbeat)
    if (!this.#breaker.isOpen && this.#connected === undefined) {
      await this.#bounded(this.#client.zrem(this.#keys.instancesKey(), this.#instanceId)).catch(() => {})
    }
    if (this.#owned) {
      await this.#bounded(this.#client.quit()).catch(() => {})
      this.#client.disconnect()
    }
    await this.#fallback.close()
  }

  // --- single Redis (and one-rule checks on a Cluster): batched calls ----------------------

  #enqueue(check: PendingCheck): void {
    const max = this.#options.batchMaxChecks
    if (max === 1 || this.#isCluster) {
      this.#send([check])
      return
    }
    this.#pending.push(check)
    if (this.#pending.length >= max) {
      this.#flush()
    } else if (!this.#flushScheduled) {
      this.#flushScheduled = true
      // Checks started while this tick's promise reactions run join the same call.
      process.nextTick(this.#flushTick)
    }
  }

  readonly #flushTick = (): void => {
    this.#flushScheduled = false
    this.#flush()
  }

  #flush(): void {
    if (this.#pending.length === 0) return
    const batch = this.#pending
    this.#pending = []
    this.#send(batch)
  }

  #send(checks: readonly PendingCheck[]): void {
    const keys: string[] = []
    const args = this.#headerArgs(false, checks.length)
    for (const check of checks) {
      args.push(String(check.cost), String(check.rules.length))
      for (let i = 0; i < check.rules.length; i++) {
        args.push(this.#argsOf(check.rules[i] as CompiledRule))
        keys.push(check.keys[i] as string)
      }
    }
    this.#bounded(this.#run(this.#script, keys, args)).then(
      (reply) => {
        this.#breaker.success()
        const fields = reply as string[]
        const now = this.#denials ? this.#localClock() : 0
        let at = 0
        for (const check of checks) {
          const verdicts: RuleVerdict[] = new Array(check.rules.length)
          for (let i = 0; i < check.rules.length; i++) {
            verdicts[i] = parseVerdict((fields[at++] as string).split(VERDICT_SEPARATOR))
          }
          if (this.#denials) this.#learn(check, verdicts, now)
          check.resolve({ verdicts, degraded: false })
        }
      },
      (error) => {
        for (const check of checks) check.resolve(this.#failed(check, error))
      },
    )
  }

  // --- Redis Cluster: reserve on every slot, then keep or release ---------------------------

  /**
   * The rules of one check live in different slots (their hash tags differ), so no single
   * script sees them all. Each rule is reserved in its own slot (decided and, if allowed,
   * written at once), in parallel. If every enforcing rule allowed, the reservations stand:
   * one round trip. Otherwise, or when a call fails or times out, each reservation is
   * released: put back to the state it replaced, if nobody has written the key since.
   */
  #sendAcrossSlots(check: PendingCheck): void {
    const n = check.rules.length
    const results: (Reservation | undefined)[] = new Array(n)
    let waiting = n
    let settled = false
    let releasing = false
    const release = (i: number) => {
      const reservation = results[i]
      if (reservation === undefined || reservation.written === '') return
      // EVAL, not EVALSHA: a NOSCRIPT round trip could let the caller's next check reach
      // the key before the release does. The script is small and Redis caches it anyway.
      this.#whenConnected(() =>
        this.#releaseScript.runByEval(
          this.#client as unknown as ScriptClient,
          [check.keys[i] as string],
          [reservation.written, reservation.replaced],
        ),
      ).catch(() => {})
    }
    const fail = (error: unknown) => {
      if (settled) return
      settled = true
      releasing = true
      clearTimeout(timer)
      for (let i = 0; i < n; i++) release(i)
      check.resolve(this.#failed(check, error))
    }
    const timer = setTimeout(
      () => fail(new TimeoutError(this.#options.commandTimeoutMs)),
      this.#options.commandTimeoutMs,
    )
    for (let i = 0; i < n; i++) {
      const rule = check.rules[i] as CompiledRule
      const args = this.#headerArgs(true, 1)
      args.push(String(check.cost), '1', this.#argsOf(rule))
      this.#whenConnected(() => this.#run(this.#script, [check.keys[i] as string], args)).then((reply) => {
        const fields = ((reply as string[])[0] as string).split(VERDICT_SEPARATOR)
        results[i] = {
          verdict: parseVerdict(fields),
          written: fields[5] as string,
          replaced: fields[6] as string,
        }
        if (releasing) {
          release(i)
          return
        }
        if (--waiting > 0) return
        settled = true
        clearTimeout(timer)
        this.#breaker.success()
        const verdicts: RuleVerdict[] = new Array(n)
        let admitted = true
        for (let j = 0; j < n; j++) {
          const verdict = (results[j] as Reservation).verdict
          verdicts[j] = verdict
          if (!verdict.allowed && !(check.rules[j] as CompiledRule).shadow) admitted = false
        }
        if (this.#denials) this.#learn(check, verdicts, this.#localClock())
        if (!admitted) {
          releasing = true
          for (let j = 0; j < n; j++) release(j)
        }
        check.resolve({ verdicts, degraded: false })
      }, fail)
    }
  }

  // --- plumbing -----------------------------------------------------------------------------

  #headerArgs(reserve: boolean, checkCount: number): string[] {
    const testClock = this.#options.clockForTests
    return [
      testClock ? String(testClock()) : '',
      testClock ? String(DAY_MS) : '0',
      reserve ? '1' : '0',
      String(checkCount),
    ]
  }

  /** The script argument describing `rule` (see `rule_def` in the script), made once per rule. */
  #argsOf(rule: CompiledRule): string {
    let arg = this.#ruleArgs.get(rule)
    if (arg === undefined) {
      const { limit, windowMs, burst, mode } = rule.params
      if (mode !== undefined && /[, ]/.test(mode))
        throw new TypeError(`rule "${rule.name}": mode "${mode}" cannot be sent to Redis`)
      arg = [
        this.#slotOf(rule),
        String(limit),
        String(windowMs),
        burst === undefined ? '' : String(burst),
        mode ?? '',
        rule.shadow ? '1' : '0',
      ].join(',')
      this.#ruleArgs.set(rule, arg)
    }
    return arg
  }

  #slotOf(rule: CompiledRule): string {
    const known = this.#slots.get(rule.algorithm)
    if (known !== undefined) return known
    if (typeof rule.algorithm.lua !== 'string') {
      throw new TypeError(
        `rule "${rule.name}": algorithm "${rule.algorithmName}" has no Lua twin (Algorithm.lua), so the Redis store cannot run it`,
      )
    }
    this.#algorithms.push(rule.algorithm)
    const slot = String(this.#algorithms.length)
    this.#slots.set(rule.algorithm, slot)
    this.#script = new RedisScript(buildEvaluateScript(this.#algorithms))
    return slot
  }

  #run(script: RedisScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#whenConnected(() => script.run(this.#client as unknown as ScriptClient, keys, args))
  }

  /** Runs `call` now, or once the client first connects (the caller's deadline still runs). */
  #whenConnected<T>(call: () => Promise<T>): Promise<T> {
    return this.#connected === undefined ? call() : this.#connected.then(call)
  }

  /** `promise`, or a TimeoutError after `commandTimeoutMs`. */
  #bounded<T>(promise: Promise<T>): Promise<T> {
    const ms = this.#options.commandTimeoutMs
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(ms)), ms)
      promise.then(
        (value) => {
          clearTimeout(timer)
          resolve(value)
        },
        (error) => {
          clearTimeout(timer)
          reject(error)
        },
      )
    })
  }

  #failed(request: EvaluationRequest, error: unknown): Evaluation {
    this.#breaker.failure(describe(error))
    return this.#degraded(request)
  }

  #degraded(request: EvaluationRequest): Evaluation {
    const policy = this.#options.onFailure
    if (policy === 'fallback') return this.#fallback.evaluate(request)
    const verdicts: RuleVerdict[] = request.rules.map((rule) =>
      policy === 'open' || rule.shadow
        ? { allowed: true, remaining: rule.params.limit, resetMs: 0, retryAfterMs: 0, delayMs: 0 }
        : { allowed: false, remaining: 0, resetMs: 0, retryAfterMs: CLOSED_RETRY_AFTER_MS, delayMs: 0 },
    )
    return { verdicts, degraded: true }
  }

  #fromDenialCache(keys: readonly string[], cost: number): Evaluation | undefined {
    const denials = this.#denials as DenialCache
    if (denials.size === 0) return undefined
    const verdicts = denials.lookup(keys, cost, this.#localClock())
    return verdicts === undefined ? undefined : { verdicts, degraded: false }
  }

  #learn(check: PendingCheck, verdicts: readonly RuleVerdict[], now: number): void {
    let admitted = true
    let hasShadow = false
    for (let i = 0; i < verdicts.length; i++) {
      if ((check.rules[i] as CompiledRule).shadow) hasShadow = true
      else if (!(verdicts[i] as RuleVerdict).allowed) admitted = false
    }
    ;(this.#denials as DenialCache).learn(check.keys, check.cost, verdicts, admitted, hasShadow, now)
  }

  async #ping(): Promise<void> {
    if (this.#client.status !== 'ready') throw new Error(`connection ${this.#client.status}`)
    if (this.#isCluster) {
      const masters = (this.#client as Cluster).nodes('master')
      if (masters.length === 0) throw new Error('no Cluster master known')
      await this.#bounded(Promise.all(masters.map((node) => node.ping())))
    } else {
      await this.#bounded((this.#client as Redis).ping())
    }
  }

  #beat(): Promise<void> {
    if (this.#closed || this.#breaker.isOpen || this.#connected !== undefined) return Promise.resolve()
    const expiry = String(this.#options.heartbeatMs * 3)
    return this.#bounded(
      this.#run(this.#heartbeatScript, [this.#keys.instancesKey()], [this.#instanceId, expiry]),
    ).then(
      (count) => {
        this.#fallback.instances = Number(count)
      },
      (error) => this.#breaker.failure(describe(error)),
    )
  }

  #wentDown(reason: string): void {
    const policy = this.#options.onFailure
    this.#options.logger?.warn(
      `diana: Redis store failing (${reason}); deciding locally (onFailure: ${policy}) until it answers again`,
    )
    this.emit('degraded', { reason, policy })
  }

  #cameBack(downMs: number): void {
    this.#options.logger?.warn(
      `diana: Redis store answers again after ${Math.round(downMs)} ms; limits are shared again`,
    )
    this.emit('recovered', { downMs })
    this.#beat()
  }
}

function parseVerdict(fields: readonly string[]): RuleVerdict {
  return {
    allowed: fields[0] === '1',
    remaining: Number(fields[1]),
    resetMs: Number(fields[2]),
    retryAfterMs: Number(fields[3]),
    delayMs: Number(fields[4]),
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
