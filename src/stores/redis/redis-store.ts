import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Cluster, Redis } from 'ioredis'
import { type Algorithm, type RuleVerdict, refundOf } from '../../algorithm'
import type { Clock } from '../../clock'
import { errorReason } from '../../error-reason'
import type { MaybePromise } from '../../maybe-async'
import type { CompiledRule } from '../../rules/compiled-rule'
import type { RuleSet } from '../../rules/rule-set'
import type { Evaluation, EvaluationRequest, Store } from '../store'
import { Batcher } from './batcher'
import { CircuitBreaker } from './circuit-breaker'
import { buildClient } from './client'
import { DeadlineQueue, MAX_STALLS, STALL_MS } from './deadline-queue'
import { DenialCache } from './denial-cache'
import { KeyLayout } from './keys'
import { type ExactPath, LeaseBook } from './lease/lease-book'
import { LocalFallback } from './local-fallback'
import {
  type FailurePolicy,
  type RedisStoreOptions,
  type ResolvedRedisStoreOptions,
  resolveRedisStoreOptions,
} from './options'
import { RedisScript, type ScriptClient } from './script-runner'
import {
  BLOCK_KEY_SUFFIX,
  buildEvaluateScript,
  buildRefundScript,
  HEARTBEAT_SCRIPT,
  RELEASE_SCRIPT,
  VERDICT_SEPARATOR,
} from './scripts'
import { testClockOf } from './test-clock'

export interface RedisStoreEvents {
  /** Redis stopped answering; checks are decided locally by `policy` until it recovers. */
  degraded: [info: { reason: string; policy: FailurePolicy }]
  /** Redis answers again; checks are shared again. */
  recovered: [info: { downMs: number }]
}

interface PendingCheck {
  readonly rules: readonly CompiledRule[]
  /** The request's (see `EvaluationRequest.ruleSet`), for the local fallback. */
  readonly ruleSet: RuleSet | undefined
  readonly subjectKeys: readonly string[]
  readonly keys: readonly string[]
  readonly cost: number
  /** A `peek`: decided without writing anything, batched only with other peeks, never learned or charged. */
  readonly peek: boolean
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

class ConnectingError extends Error {
  constructor(ms: number) {
    super(`still connecting after ${ms} ms`)
  }
}

/** Failures that may be a lost or missing connection rather than Redis's own answer. */
function isNotConnected(error: unknown): boolean {
  if (error instanceof TimeoutError || error instanceof ConnectingError) return true
  const message = error instanceof Error ? error.message : ''
  return message.startsWith("Stream isn't writeable") || message.startsWith('Connection is closed')
}

/** `promise`, or `error()` once its deadline (see {@link DeadlineQueue}) has passed. */
function withDeadline<T>(promise: Promise<T>, deadlines: DeadlineQueue, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const deadline = deadlines.start(() => reject(error()))
    promise.then(
      (value) => {
        deadline.cancel()
        resolve(value)
      },
      (failure) => {
        deadline.cancel()
        reject(failure)
      },
    )
  })
}

/**
 * Rule states shared in Redis or Redis Cluster, so every instance of an application counts
 * against the same limits. Each check is one script call deciding all its rules at once,
 * with Redis time; see docs/redis.md for the key layout, the Cluster protocol and what
 * happens when Redis fails. Checks never reject, and a check Redis does not answer is decided
 * by the failure policy once `commandTimeoutMs` have passed during which this process could
 * have read the reply: a deadline whose timer fires late (a blocked event loop, see
 * {@link STALL_MS}) gets another full term, at most {@link MAX_STALLS} times, so on a busy host
 * a check may wait up to 4 × `commandTimeoutMs` (plus `connectWaitMs` before the first
 * connection) before it is decided locally.
 */
export class RedisStore extends EventEmitter<RedisStoreEvents> implements Store {
  readonly #client: Redis | Cluster
  readonly #owned: boolean
  readonly #isCluster: boolean
  readonly #options: ResolvedRedisStoreOptions
  readonly #localClock: Clock
  /** See `withTestClock`; undefined in production, where scripts read Redis's `TIME`. */
  readonly #testClock: Clock | undefined
  readonly #keys: KeyLayout
  readonly #fallback: LocalFallback
  readonly #denials: DenialCache | undefined
  readonly #breaker: CircuitBreaker
  readonly #heartbeatTimer: NodeJS.Timeout
  readonly #instanceId = randomUUID()
  readonly #releaseScript = new RedisScript(RELEASE_SCRIPT)
  readonly #heartbeatScript = new RedisScript(HEARTBEAT_SCRIPT)
  readonly #algorithms: Algorithm[] = []
  readonly #slots = new Map<Algorithm, string>()
  readonly #ruleArgs = new WeakMap<CompiledRule, string>()
  #script = new RedisScript(buildEvaluateScript([]))
  /** Deadlines by length (`commandTimeoutMs`, `connectWaitMs`), each length on one timer. */
  readonly #deadlineQueues = new Map<number, DeadlineQueue>()
  /** The refund script for `#algorithms` as they were when it was built (see `#refundScriptNow`). */
  #refundScript: { script: RedisScript; algorithms: number } | undefined
  readonly #batcher: Batcher<PendingCheck>
  readonly #peekBatcher: Batcher<PendingCheck>
  /** Slices of leased rules' quotas this instance holds (rule field `lease`). */
  readonly #leases: LeaseBook
  /** The exact path, for the rules of a leased check that are not decided from a slice. */
  readonly #exactPath: ExactPath = (request, peek, away) =>
    away ? this.#degraded(request, peek) : this.#evaluate(request, peek)
  /** Pending until the first connection is up; rejected while it fails before that. */
  #connected: Promise<void> | undefined
  /** What the client last reported going wrong with its connection, until it is ready again. */
  #connectionProblem: string | undefined
  /** When the last heartbeat was sent (performance.now()), and whether one is under way. */
  #beatAt = Number.NEGATIVE_INFINITY
  #beating = false
  /** When this store was made (performance.now()), and whether the last two counts agreed. */
  readonly #startedAt = performance.now()
  #countSteady = false
  #closed = false
  // The client's listeners, kept so close() can take them off again: a client passed in by
  // the user outlives the store, and every limiter made on it would otherwise leave three.
  readonly #onError = (error: unknown): void => {
    this.#connectionProblem = errorReason(error)
  }
  readonly #onClose = (): void => {
    this.#connectionProblem ??= 'connection closed'
  }
  readonly #onReady = (): void => {
    this.#connectionProblem = undefined
  }
  /** The pair {@link #awaitFirstConnection} adds until the first connection is up. */
  #firstConnection: { failed: (error: unknown) => void; ready: () => void } | undefined

  constructor(options: RedisStoreOptions, clock: Clock) {
    super()
    this.#options = resolveRedisStoreOptions(options)
    const built = buildClient(options)
    this.#client = built.client
    this.#owned = built.owned
    // Kept to name the real cause (a refused connection, WRONGPASS, NOAUTH) when calls fail for
    // want of a connection, where ioredis only says "Stream isn't writeable". The breaker
    // reports it once; without a listener ioredis would also print every reconnect's error.
    this.#client.on('error', this.#onError)
    this.#client.on('close', this.#onClose)
    this.#client.on('ready', this.#onReady)
    this.#isCluster = (this.#client as Cluster).isCluster === true
    this.#testClock = testClockOf(options)
    this.#localClock = this.#testClock ?? clock
    this.#keys = new KeyLayout(this.#options.keyPrefix)
    this.#fallback = new LocalFallback(clock, this.#options.fallbackMaxKeys)
    this.#denials =
      this.#options.denialCacheMaxKeys > 0 ? new DenialCache(this.#options.denialCacheMaxKeys) : undefined
    this.#batcher = new Batcher(this.#options.batchMaxChecks, (batch, done) => this.#send(batch, done))
    this.#peekBatcher = new Batcher(this.#options.batchMaxChecks, (batch, done) => this.#send(batch, done))
    // Slices are measured on a monotonic clock: a wall clock stepping back would keep one alive
    // past its window's end in Redis (see docs/redis.md, "Leased quotas").
    const leaseClock = this.#testClock ?? (() => performance.now())
    this.#leases = new LeaseBook(this.#options.leaseMaxKeys, this.#instanceId, leaseClock, {
      ruleArg: (rule) => this.#argsOf(rule),
      algorithms: () => this.#algorithms,
      keyOf: (rule, subjectKey) => this.#keys.ruleKey(rule, subjectKey),
      run: (script, keys, args) => this.#run(script, keys, args),
      header: () => {
        const args = this.#headerArgs('decide', 0)
        return [args[0] as string, args[1] as string]
      },
      unavailable: () => this.#breaker.isOpen || this.#closed,
      succeeded: () => this.#breaker.success(),
      failed: (error) => this.#breaker.failure(this.#reason(error)),
      granted: (rule, subjectKey, units) => {
        if (this.#options.onFailure === 'fallback') this.#fallback.take(rule, subjectKey, units)
      },
    })
    this.#breaker = new CircuitBreaker({
      failureThreshold: this.#options.failureThreshold,
      probeMinMs: this.#options.probeMinMs,
      probeMaxMs: this.#options.probeMaxMs,
      probe: () => this.#probe(),
      onOpen: (reason) => this.#wentDown(reason),
      onClose: (downMs) => this.#cameBack(downMs),
      now: () => performance.now(),
    })
    if (this.#client.status !== 'ready') {
      this.#awaitFirstConnection()
      if (this.#client.status === 'wait') this.#client.connect().catch(() => {})
    } else {
      this.#beat()
    }
    this.#heartbeatTimer = setInterval(() => this.#beat(), this.#options.heartbeatMs)
    this.#heartbeatTimer.unref()
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
        await this.#probe()
        this.#breaker.reset()
        this.#breaker.success()
        return
      } catch (error) {
        if (performance.now() > deadline) {
          throw new Error(`Redis store not ready after ${timeoutMs} ms: ${this.#reason(error)}`)
        }
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    }
  }

  evaluate(request: EvaluationRequest): MaybePromise<Evaluation> {
    if (LeaseBook.anyLeased(request.rules)) return this.#leases.evaluate(request, this.#exactPath)
    return this.#evaluate(request, false)
  }

  /**
   * What `evaluate` would answer, writing nothing (see `Store.peek`): a script call in peek
   * mode, batched with other peeks but never with checks (on a Cluster, one per rule, with
   * nothing to release). A
   * denial the local denial cache holds is answered from it, as a check would be.
   */
  peek(request: EvaluationRequest): MaybePromise<Evaluation> {
    if (LeaseBook.anyLeased(request.rules)) return this.#leases.peek(request, this.#exactPath)
    return this.#evaluate(request, true)
  }

  #evaluate(request: EvaluationRequest, peek: boolean): MaybePromise<Evaluation> {
    const { rules, subjectKeys, cost, ruleSet } = request
    const keys = this.#keysOf(rules, subjectKeys)
    if (this.#denials) {
      const cached = this.#fromDenialCache(keys, cost)
      if (cached) return cached
    }
    if (this.#breaker.isOpen || this.#closed) return this.#degraded(request, peek)
    for (let i = 0; i < rules.length; i++) this.#argsOf(rules[i] as CompiledRule)
    return new Promise<Evaluation>((resolve) => {
      const check: PendingCheck = { rules, ruleSet, subjectKeys, keys, cost, peek, resolve }
      if (this.#isCluster && rules.length > 1) this.#sendAcrossSlots(check)
      else this.#enqueue(check)
    })
  }

  /**
   * Forgets the subject's state and block of each rule (see `Store.reset`): in Redis (one DEL,
   * or one per rule on a Cluster, where rules live in different slots) and in the local
   * fallback, and drops the denial cache's answers that depended on them. Resolves once Redis
   * answered or `commandTimeoutMs` passed (as for checks); never rejects.
   */
  reset(rules: readonly CompiledRule[], subjectKeys: readonly string[]): Promise<void> {
    const keys = this.#keysOf(rules, subjectKeys)
    this.#fallback.reset(rules, subjectKeys)
    this.#leases.forget(keys)
    return this.#changeKeys(keys, () => {
      const client = this.#client
      if (!this.#isCluster) {
        return client.del(...keys.flatMap((key) => [key, key + BLOCK_KEY_SUFFIX]))
      }
      return Promise.all(keys.map((key) => client.del(key, key + BLOCK_KEY_SUFFIX)))
    })
  }

  /**
   * Gives back up to `cost` units to each rule (see `Store.refund`): in Redis, one script call
   * running each algorithm's Lua `refund` with Redis time (one per rule on a Cluster), and in
   * the local fallback's shares, which are charged what Redis admits. Resolves once Redis
   * answered or `commandTimeoutMs` passed; never rejects for a Redis failure (while Redis is
   * away only the local shares get the units back). A TypeError, before anything changes, when
   * a rule's algorithm has no `refund` or no `luaRefund`. `heldMs` goes to the algorithms as
   * it is: the caller's measure of how long the units were held, read against Redis time.
   * `degraded` units were taken by the local fallback alone and are given back only there.
   */
  refund(
    rules: readonly CompiledRule[],
    subjectKeys: readonly string[],
    cost: number,
    heldMs?: number,
    degraded = false,
  ): Promise<void> {
    for (const rule of rules) {
      refundOf(rule)
      if (typeof rule.algorithm.luaRefund !== 'string') {
        throw new TypeError(
          `refund: rule "${rule.name}": algorithm "${rule.algorithmName}" has no Lua refund (Algorithm.luaRefund), so the Redis store cannot give units back`,
        )
      }
    }
    const fallback = this.#options.onFailure === 'fallback'
    // Taken while Redis was away: Redis never counted them, and giving them back there (or to
    // a leased slice, which they did not come from) would free a place a request admitted by
    // Redis still holds. The local shares alone get them back.
    if (degraded) {
      if (fallback) this.#fallback.refund(rules, subjectKeys, cost, heldMs)
      return Promise.resolve()
    }
    if (LeaseBook.anyLeased(rules)) {
      // Units of leased rules go back into this instance's slices, whose units the local
      // shares were charged when they were granted: only the others go to Redis and the shares.
      const rest = this.#leases.refund(rules, subjectKeys, cost)
      if (rest.length === 0) return Promise.resolve()
      rules = rest.map((i) => rules[i] as CompiledRule)
      subjectKeys = rest.map((i) => subjectKeys[i] as string)
    }
    if (fallback) this.#fallback.refund(rules, subjectKeys, cost, heldMs)
    const keys = this.#keysOf(rules, subjectKeys)
    const args = rules.map((rule) => this.#argsOf(rule))
    const header = this.#refundHeader(cost, heldMs)
    return this.#changeKeys(keys, () => {
      const script = this.#refundScriptNow()
      const client = this.#client as unknown as ScriptClient
      if (!this.#isCluster) return script.run(client, keys, [...header, ...args])
      return Promise.all(keys.map((key, i) => script.run(client, [key], [...header, args[i] as string])))
    })
  }

  /**
   * Runs `write` (a reset or a refund of `keys`) in Redis unless it is known to be away,
   * bounded like a check; its outcome counts for the circuit breaker. The denial cache forgets
   * what depended on those keys before and after: a check in flight meanwhile must not leave
   * a denial the write has made stale.
   */
  #changeKeys(keys: readonly string[], write: () => Promise<unknown>): Promise<void> {
    this.#denials?.forget(keys)
    if (this.#breaker.isOpen || this.#closed) return Promise.resolve()
    return this.#whenConnected(() => this.#bounded(write())).then(
      () => {
        this.#denials?.forget(keys)
        this.#breaker.success()
      },
      (error) => {
        this.#denials?.forget(keys)
        this.#breaker.failure(this.#reason(error))
      },
    )
  }

  #keysOf(rules: readonly CompiledRule[], subjectKeys: readonly string[]): string[] {
    const keys: string[] = new Array(rules.length)
    for (let i = 0; i < rules.length; i++) {
      keys[i] = this.#keys.ruleKey(rules[i] as CompiledRule, subjectKeys[i] as string)
    }
    return keys
  }

  /** The refund script's first arguments: the test clock, the cost and `heldMs`. */
  #refundHeader(cost: number, heldMs: number | undefined): string[] {
    const testClock = this.#testClock
    const held = heldMs === undefined || Number.isNaN(heldMs) ? '' : String(heldMs)
    return [testClock ? String(testClock()) : '', String(cost), held]
  }

  /** The refund script for every algorithm seen so far (built again when one is added). */
  #refundScriptNow(): RedisScript {
    const built = this.#refundScript
    if (built !== undefined && built.algorithms === this.#algorithms.length) return built.script
    const script = new RedisScript(buildRefundScript(this.#algorithms))
    this.#refundScript = { script, algorithms: this.#algorithms.length }
    return script
  }

  /** Redis keys expire on their own; only the local fallback holds tables per rule. */
  retain(rules: readonly CompiledRule[]): void {
    this.#fallback.retain(rules)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    // Before the store counts as closed: handing slices back needs Redis.
    await this.#leases.close()
    if (this.#closed) return
    this.#closed = true
    this.#breaker.stop()
    clearInterval(this.#heartbeatTimer)
    this.#client.off('error', this.#onError)
    this.#client.off('close', this.#onClose)
    this.#client.off('ready', this.#onReady)
    this.#dropFirstConnectionListeners()
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
    // Peeks have a batcher of their own, since the script's mode is the whole call's. A leased
    // check denied by its slice peeks at its exact rules, so under load peeks come in crowds too.
    if (check.peek) this.#peekBatcher.add(check)
    else this.#batcher.add(check)
  }

  /** One script call deciding `checks`; `done` (the batcher's) is called once it has settled. */
  #send(checks: readonly PendingCheck[], done?: () => void): void {
    const keys: string[] = []
    // Peeks are batched apart from checks (see `#enqueue`), so the mode is the whole call's.
    const args = this.#headerArgs((checks[0] as PendingCheck).peek ? 'peek' : 'decide', checks.length)
    for (const check of checks) {
      args.push(String(check.cost), String(check.rules.length))
      for (let i = 0; i < check.rules.length; i++) {
        args.push(this.#argsOf(check.rules[i] as CompiledRule))
        keys.push(check.keys[i] as string)
      }
    }
    this.#maybeBeat()
    const onReply = (reply: unknown) => {
      done?.()
      this.#breaker.success()
      const fields = reply as string[]
      const now = this.#denials ? this.#localClock() : 0
      let at = 0
      for (const check of checks) {
        const verdicts: RuleVerdict[] = new Array(check.rules.length)
        let admitted = true
        let hasShadow = false
        for (let i = 0; i < check.rules.length; i++) {
          const verdict = parseVerdict(fields[at++] as string)
          verdicts[i] = verdict
          if ((check.rules[i] as CompiledRule).shadow) hasShadow = true
          else if (!verdict.allowed) admitted = false
        }
        if (!check.peek) {
          if (this.#denials) this.#learn(check, verdicts, admitted, hasShadow, now)
          if (admitted) this.#charge(check, verdicts)
        }
        check.resolve({ verdicts, degraded: false })
      }
    }
    const onError = (error: unknown) => {
      done?.()
      for (const check of checks) check.resolve(this.#failed(check, error))
    }
    if (this.#connected !== undefined) {
      this.#run(this.#script, keys, args).then(onReply, onError)
      return
    }
    // What #run does, without its promise and closures: on a quiet store this is a check's
    // whole round trip, so each allocation and timer on it shows in the check's latency.
    const ms = this.#options.commandTimeoutMs
    let settled = false
    const deadline = this.#deadlines(ms).start(() => {
      settled = true
      onError(new TimeoutError(ms))
    })
    this.#script.call(
      this.#client as unknown as ScriptClient,
      keys,
      args,
      (reply) => {
        if (settled) return
        settled = true
        deadline.cancel()
        onReply(reply)
      },
      (error) => {
        if (settled) return
        settled = true
        deadline.cancel()
        onError(error)
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
    if (this.#connected !== undefined) {
      this.#whenConnected(async () => this.#sendAcrossSlots(check)).catch((error) =>
        check.resolve(this.#failed(check, error)),
      )
      return
    }
    this.#maybeBeat()
    const n = check.rules.length
    const results: (Reservation | undefined)[] = new Array(n)
    let waiting = n
    let settled = false
    let releasing = false
    const release = (i: number) => {
      const reservation = results[i]
      if (reservation === undefined || reservation.written === '') return
      const rule = check.rules[i] as CompiledRule
      // Permits are given back as a release gives them (a refund of the check's cost), not by
      // putting back the state replaced: that is refused once another check wrote the key, and
      // the reserved permit would then be held until its window reclaims it. By EVAL too, for
      // the reason below.
      if (rule.algorithm.permits) {
        this.#whenConnected(() =>
          this.#refundScriptNow().runByEval(
            this.#client as unknown as ScriptClient,
            [check.keys[i] as string],
            [...this.#refundHeader(check.cost, 0), this.#argsOf(rule)],
          ),
        ).catch(() => {})
        return
      }
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
      deadline.cancel()
      for (let i = 0; i < n; i++) release(i)
      check.resolve(this.#failed(check, error))
    }
    const ms = this.#options.commandTimeoutMs
    const deadline = this.#deadlines(ms).start(() => fail(new TimeoutError(ms)))
    for (let i = 0; i < n; i++) {
      const rule = check.rules[i] as CompiledRule
      // A peek writes nothing, so it reserves nothing and has nothing to release.
      const args = this.#headerArgs(check.peek ? 'peek' : 'reserve', 1)
      args.push(String(check.cost), '1', this.#argsOf(rule))
      // Bounded by the one deadline above, not each by its own as well: n timers for one check.
      this.#script
        .run(this.#client as unknown as ScriptClient, [check.keys[i] as string], args)
        .then((reply) => {
          const fields = ((reply as string[])[0] as string).split(VERDICT_SEPARATOR)
          results[i] = {
            verdict: parseVerdict(fields),
            written: check.peek ? '' : (fields[5] as string),
            replaced: check.peek ? '' : (fields[6] as string),
          }
          if (releasing) {
            release(i)
            return
          }
          if (--waiting > 0) return
          settled = true
          deadline.cancel()
          this.#breaker.success()
          const verdicts: RuleVerdict[] = new Array(n)
          let admitted = true
          let hasShadow = false
          for (let j = 0; j < n; j++) {
            const verdict = (results[j] as Reservation).verdict
            verdicts[j] = verdict
            if ((check.rules[j] as CompiledRule).shadow) hasShadow = true
            else if (!verdict.allowed) admitted = false
          }
          if (check.peek) {
            check.resolve({ verdicts, degraded: false })
            return
          }
          if (this.#denials) this.#learn(check, verdicts, admitted, hasShadow, this.#localClock())
          if (admitted) this.#charge(check, verdicts)
          if (!admitted) {
            releasing = true
            for (let j = 0; j < n; j++) release(j)
          }
          check.resolve({ verdicts, degraded: false })
        }, fail)
    }
  }

  // --- plumbing -----------------------------------------------------------------------------

  #headerArgs(mode: 'decide' | 'reserve' | 'peek', checkCount: number): string[] {
    const testClock = this.#testClock
    return [
      testClock ? String(testClock()) : '',
      testClock ? String(DAY_MS) : '0',
      mode === 'reserve' ? '1' : mode === 'peek' ? '2' : '0',
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
        rule.blockMs === undefined ? '' : String(rule.blockMs),
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

  /** One script call, bounded by `commandTimeoutMs` from when it can be sent. */
  #run(script: RedisScript, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return this.#whenConnected(() =>
      this.#bounded(script.run(this.#client as unknown as ScriptClient, keys, args)),
    )
  }

  /**
   * Until the client first connects, calls wait for it, at most `connectWaitMs`, and their
   * own deadline starts once it is up: a connection still being made (TCP, AUTH, the ready
   * check, on a host busy starting up) is not Redis failing to answer. An error before then
   * (refused, WRONGPASS) fails the waiting calls at once, with that cause.
   */
  #awaitFirstConnection(): void {
    let resolveConnected: () => void = () => {}
    let rejectConnected: (error: unknown) => void = () => {}
    const connected = new Promise<void>((resolve, reject) => {
      resolveConnected = resolve
      rejectConnected = reject
    })
    // Callers see the rejection through their own `then`; nobody else must report it.
    connected.catch(() => {})
    const failed = (error: unknown) => rejectConnected(error)
    const ready = () => {
      this.#dropFirstConnectionListeners()
      this.#connected = undefined
      resolveConnected()
      this.#beat()
    }
    this.#firstConnection = { failed, ready }
    this.#client.on('error', failed)
    this.#client.on('ready', ready)
    this.#connected = connected
  }

  #dropFirstConnectionListeners(): void {
    const pair = this.#firstConnection
    if (pair === undefined) return
    this.#firstConnection = undefined
    this.#client.off('error', pair.failed)
    this.#client.off('ready', pair.ready)
  }

  /** Runs `call` now, or once the client first connects (see {@link #awaitFirstConnection}). */
  #whenConnected<T>(call: () => Promise<T>): Promise<T> {
    const connected = this.#connected
    if (connected === undefined) return call()
    const ms = this.#options.connectWaitMs
    return withDeadline(connected, this.#deadlines(ms), () => new ConnectingError(ms)).then(call)
  }

  /** `promise`, or a TimeoutError once `commandTimeoutMs` have passed (see {@link startDeadline}). */
  #bounded<T>(promise: Promise<T>): Promise<T> {
    const ms = this.#options.commandTimeoutMs
    return withDeadline(promise, this.#deadlines(ms), () => new TimeoutError(ms))
  }

  #deadlines(ms: number): DeadlineQueue {
    let queue = this.#deadlineQueues.get(ms)
    if (queue === undefined) {
      queue = new DeadlineQueue(ms)
      this.#deadlineQueues.set(ms, queue)
    }
    return queue
  }

  /**
   * The cause to report: Redis's own error (OOM, NOPERM, NOSCRIPT...) as it came; for a call
   * that failed for want of a connection, what the connection last reported (refused,
   * WRONGPASS, NOAUTH, closed) instead of ioredis's generic message or a timeout.
   */
  #reason(error: unknown): string {
    if (isNotConnected(error) && this.#client.status !== 'ready') {
      const problem = this.#connectionProblem
      if (problem !== undefined) return problem
      return error instanceof ConnectingError ? error.message : `connection ${this.#client.status}`
    }
    return errorReason(error)
  }

  #failed(check: PendingCheck, error: unknown): Evaluation {
    this.#breaker.failure(this.#reason(error))
    return this.#degraded(check, check.peek)
  }

  #degraded(request: EvaluationRequest, peek: boolean): Evaluation {
    const policy = this.#options.onFailure
    if (policy === 'fallback') return peek ? this.#fallback.peek(request) : this.#fallback.evaluate(request)
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

  /**
   * What Redis admitted (call only for an admitted check) is taken from the local fallback's
   * shares too (see LocalFallback).
   */
  #charge(check: PendingCheck, verdicts: readonly RuleVerdict[]): void {
    if (this.#options.onFailure === 'fallback') this.#fallback.charge(check, verdicts)
  }

  #learn(
    check: PendingCheck,
    verdicts: readonly RuleVerdict[],
    admitted: boolean,
    hasShadow: boolean,
    now: number,
  ): void {
    const denials = this.#denials as DenialCache
    if (!admitted) {
      // A denial by a rule with blockFor (re)wrote that key's block, which may lengthen the
      // real wait of other cached checks on the key: they are asked of Redis again.
      for (let i = 0; i < verdicts.length; i++) {
        const rule = check.rules[i] as CompiledRule
        if (rule.blockMs !== undefined && !(verdicts[i] as RuleVerdict).allowed) {
          denials.forget([check.keys[i] as string])
        }
      }
      // Permits released by other instances end a wait sooner than the verdict says, which
      // the cache would not see: such denials are asked of Redis every time.
      for (let i = 0; i < verdicts.length; i++) {
        const rule = check.rules[i] as CompiledRule
        if (rule.algorithm.permits && !(verdicts[i] as RuleVerdict).allowed) return
      }
    }
    denials.learn(check.keys, check.cost, verdicts, admitted, hasShadow, now)
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

  /**
   * The breaker's probe does the real work: a script call that writes (the heartbeat), since a
   * Redis can answer PING and still refuse every check (OOM under `noeviction`, an ACL user
   * without scripting rights). It also refreshes the live instance count before checks return.
   */
  async #probe(): Promise<void> {
    await this.#ping()
    await this.#heartbeat()
  }

  /** Announces this instance and learns the live count; rejects when Redis fails. */
  #heartbeat(): Promise<void> {
    this.#beatAt = performance.now()
    const expiry = String(this.#options.heartbeatMs * 3)
    return this.#run(this.#heartbeatScript, [this.#keys.instancesKey()], [this.#instanceId, expiry]).then(
      (count) => {
        const before = this.#fallback.instances
        this.#fallback.instances = Number(count)
        this.#countSteady = this.#fallback.instances === before
      },
    )
  }

  #beat(): Promise<void> {
    if (this.#closed || this.#breaker.isOpen || this.#connected !== undefined || this.#beating) {
      return Promise.resolve()
    }
    this.#beating = true
    return this.#heartbeat().then(
      () => {
        // A heartbeat is a script that writes, as real as a check: after a probe answered,
        // it ends the outage (trial) even when no check comes to do so, so an idle store
        // reports `recovered` too. Before `#beating` is cleared, so that `#cameBack` does not
        // send another heartbeat at once.
        if (this.#breaker.state === 'trial') this.#breaker.success()
        this.#beating = false
      },
      (error) => {
        this.#beating = false
        this.#breaker.failure(this.#reason(error))
      },
    )
  }

  /**
   * While checks flow and the fleet may be changing, the instance count is kept at most a tenth
   * of `heartbeatMs` old: it is the fallback's divisor, and instances that joined since the last
   * beat would otherwise leave each one a share too large the moment Redis fails (a fleet
   * starting together sees 1, 2, 3 ... of its instances at first). That is for the first
   * 3 × `heartbeatMs` after start, and while the last two counts differed; otherwise the
   * regular beat is enough, since every instance's beat writes the one fleet-wide key (one
   * Cluster slot): ten a second each would be 1,000 scripts a second there for 100 instances.
   */
  #maybeBeat(): void {
    const now = performance.now()
    const heartbeatMs = this.#options.heartbeatMs
    if (this.#countSteady && now - this.#startedAt >= 3 * heartbeatMs) return
    if (now - this.#beatAt >= heartbeatMs / 10) this.#beat()
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

/**
 * One rule's reply, `allowed remaining resetMs retryAfterMs delayMs` (see VERDICT_SEPARATOR),
 * or those fields already split (a reservation's reply has two more).
 */
function parseVerdict(reply: string | readonly string[]): RuleVerdict {
  const fields = typeof reply === 'string' ? reply.split(VERDICT_SEPARATOR) : reply
  return {
    allowed: fields[0] === '1',
    remaining: Number(fields[1]),
    resetMs: Number(fields[2]),
    retryAfterMs: Number(fields[3]),
    delayMs: Number(fields[4]),
  }
}
