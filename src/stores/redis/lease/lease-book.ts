import type { Algorithm, RuleVerdict } from '../../../algorithm'
import type { Clock } from '../../../clock'
import { isPromiseLike, type MaybePromise } from '../../../maybe-async'
import type { CompiledRule } from '../../../rules/compiled-rule'
import { LruMap } from '../../lru-map'
import type { Evaluation, EvaluationRequest } from '../../store'
import type { RedisScript } from '../script-runner'
import { RedisScript as Script } from '../script-runner'
import { buildGiveBackScript, buildLeaseScript, LEASE_KEY_SUFFIX } from './lease-scripts'
import { LeaseSlot } from './lease-slot'

/** What the book needs of the Redis store it serves. */
export interface LeaseTransport {
  /** The rule's script argument (see `rule_def`); registers its algorithm with the store. */
  ruleArg(rule: CompiledRule): string
  /** The store's algorithms, numbered as its scripts number them. */
  algorithms(): readonly Algorithm[]
  /** The store key of `rule` for `subjectKey`. */
  keyOf(rule: CompiledRule, subjectKey: string): string
  /** One script call, bounded by the store's deadline; rejects on any failure. */
  run(script: RedisScript, keys: readonly string[], args: readonly string[]): Promise<unknown>
  /** The first two arguments of every script: the test clock ('' = TIME) and the minimum TTL. */
  header(): readonly [string, string]
  /** True while Redis is known to be away (or the store is closed): no asking. */
  unavailable(): boolean
  succeeded(): void
  failed(error: unknown): void
  /**
   * `units` of `rule`'s quota for `subjectKey` were granted to this instance: the store's local
   * fallback charges them to its share, as it charges what Redis admits.
   */
  granted(rule: CompiledRule, subjectKey: string, units: number): void
}

/**
 * Decides the rules of a sub-request exactly (Redis, or the store's fallback): the store's own
 * path. `away`: an ask of this check just failed, so it is decided by the fallback at once
 * rather than wait for Redis a second time.
 */
export type ExactPath = (request: EvaluationRequest, peek: boolean, away: boolean) => MaybePromise<Evaluation>

/**
 * How long a slice should last at the instance's own rate: long enough that a busy instance
 * asks a few times a second at most, short enough that what it holds unused is small. The
 * rule's `maxSlice` and the fair share bound it anyway.
 */
const LEAD_MS = 100
/** After an ask failed, the key is decided exactly (and by the fallback) this long. */
const PAUSE_AFTER_FAILURE_MS = 1000
/**
 * Asks one check may wait for: units another check takes meanwhile may leave too few again,
 * and after this many the check is decided exactly instead (always correct, one round trip).
 */
const MAX_ROUNDS = 3
/** A slice's life is shortened by this fraction of itself (see `#ask`). */
const SKEW_RATE_DIVISOR = 1000
/** Default token-bucket slice life, when the window is longer. */
const DEFAULT_BUCKET_TTL_MS = 1000

const ALLOW = 0
const DENY = 1
const EXACT = 2
const REFILL = 3

/**
 * Leased rules of one Redis store (rule field `lease`): each key's slice on this instance,
 * decided locally, and the asks and hand-backs that keep it filled. Checks that also have
 * exact rules are decided together with them, all-or-nothing: the leased units are taken
 * first and put back when an exact rule denies. A leased rule that cannot get a slice (Redis
 * failing, or the check waited too often) is decided exactly, which falls back as always.
 */
export class LeaseBook {
  readonly #slots: LruMap<LeaseSlot>
  /** The same slots, to walk on close (an LruMap cannot be walked); as bounded, since eviction drops from both. */
  readonly #all = new Map<string, LeaseSlot>()
  /** The slot each rule was last checked against (see `#slotOf`). */
  readonly #recent = new WeakMap<CompiledRule, LeaseSlot>()
  readonly #instanceId: string
  readonly #clock: Clock
  readonly #transport: LeaseTransport
  #scripts: { take: RedisScript; giveBack: RedisScript; algorithms: number } | undefined
  #closing = false
  readonly #tuning = new WeakMap<CompiledRule, { maxSlice: number; ttlMs: number; bucket: boolean }>()

  constructor(maxKeys: number, instanceId: string, clock: Clock, transport: LeaseTransport) {
    this.#slots = new LruMap(maxKeys)
    this.#instanceId = instanceId
    this.#clock = clock
    this.#transport = transport
  }

  /** Keys this instance holds slices for (or asked for). */
  get size(): number {
    return this.#slots.size
  }

  /** Whether any of `rules` is leased: the store sends checks without leased rules on as before. */
  static anyLeased(rules: readonly CompiledRule[]): boolean {
    for (let i = 0; i < rules.length; i++) if ((rules[i] as CompiledRule).lease !== undefined) return true
    return false
  }

  evaluate(request: EvaluationRequest, exact: ExactPath): MaybePromise<Evaluation> {
    const { rules, cost } = request
    if (rules.length === 1) {
      // The hot case leasing is for: one leased rule whose slice covers the check.
      const rule = rules[0] as CompiledRule
      const now = this.#clock()
      const slot = this.#slotOf(rule, request.subjectKeys[0] as string, now)
      if (slot.validAt(now) >= cost) {
        const verdict = allowVerdict(slot, cost, now)
        slot.demand += cost
        slot.remaining -= cost
        slot.spent += cost
        slot.used += cost
        this.#maybePrefetch(rule, slot, cost, now)
        return { verdicts: [verdict], degraded: false }
      }
    }
    return this.#decide(request, exact, 0)
  }

  /**
   * What `evaluate` would answer, changing nothing: a leased rule whose slice covers the cost is
   * allowed, one whose pool ran dry denied, and any other is peeked at exactly.
   */
  peek(request: EvaluationRequest, exact: ExactPath): MaybePromise<Evaluation> {
    const { rules, subjectKeys, cost } = request
    const now = this.#clock()
    const verdicts: RuleVerdict[] = new Array(rules.length)
    const exactAt: number[] = []
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      const slot =
        rule.lease === undefined ? undefined : this.#slots.get(this.#keyOf(rule, subjectKeys[i] as string))
      if (slot !== undefined && slot.validAt(now) >= cost) verdicts[i] = allowVerdict(slot, cost, now)
      else if (slot !== undefined && now < slot.dryUntil) verdicts[i] = denyVerdict(slot, now)
      else exactAt.push(i)
    }
    return this.#withExact(request, verdicts, exactAt, exact, true, undefined, false)
  }

  /**
   * Puts units back into this instance's slices, each as far as it took them since it last
   * asked (see `LeaseSlot.spent`). Returns the positions of the rules that are not leased, for
   * the store to refund in Redis.
   */
  refund(rules: readonly CompiledRule[], subjectKeys: readonly string[], cost: number): number[] {
    const rest: number[] = []
    const now = this.#clock()
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i] as CompiledRule
      if (rule.lease === undefined) {
        rest.push(i)
        continue
      }
      const slot = this.#slots.get(this.#keyOf(rule, subjectKeys[i] as string))
      if (slot !== undefined) credit(slot, cost, now)
    }
    return rest
  }

  /**
   * Drops this instance's slices of these keys (a reset): their units are not given back, since
   * the state they were counted in is gone. Other instances keep theirs until they end.
   */
  forget(keys: readonly string[]): void {
    for (const key of keys) {
      const slot = this.#all.get(key)
      if (slot !== undefined) slot.live = false
      this.#slots.delete(key)
      this.#all.delete(key)
    }
  }

  /**
   * Hands every slice's unused units back (see `buildGiveBackScript`); never rejects. Asks
   * under way land first, and none is sent from now on (checks are decided exactly), so no
   * slice taken for this instance is left counted in Redis.
   */
  async close(): Promise<void> {
    this.#closing = true
    await Promise.all(Array.from(this.#all.values(), (slot) => slot.refilling))
    const calls: Promise<unknown>[] = []
    for (const slot of this.#all.values()) {
      slot.live = false
      calls.push(this.#giveBack(slot, true))
    }
    this.#all.clear()
    this.#slots.clear()
    await Promise.all(calls)
  }

  #decide(
    request: EvaluationRequest,
    exact: ExactPath,
    round: number,
    away = false,
  ): MaybePromise<Evaluation> {
    const { rules, subjectKeys, cost } = request
    const n = rules.length
    const now = this.#clock()
    const kinds: number[] = new Array(n)
    const slots: (LeaseSlot | undefined)[] = new Array(n)
    let refills = false
    let denied = false
    for (let i = 0; i < n; i++) {
      const rule = rules[i] as CompiledRule
      if (rule.lease === undefined) {
        kinds[i] = EXACT
        continue
      }
      const slot = this.#slotOf(rule, subjectKeys[i] as string, now)
      slots[i] = slot
      if (round === 0) slot.demand += cost
      const kind = this.#kindOf(rule, slot, cost, now, round)
      kinds[i] = kind
      if (kind === REFILL) refills = true
      else if (kind === DENY && !rule.shadow) denied = true
    }
    // A check a dry rule denies asks for nothing: a slice asked for it would only sit unused.
    if (refills && !denied) {
      const asks: Promise<boolean>[] = []
      for (let i = 0; i < n; i++) {
        if (kinds[i] !== REFILL) continue
        const slot = slots[i] as LeaseSlot
        asks.push(this.#ask(rules[i] as CompiledRule, slot, cost - slot.validAt(now)))
      }
      return Promise.all(asks).then((answered) =>
        this.#decide(request, exact, round + 1, away || answered.includes(false)),
      )
    }
    const verdicts: RuleVerdict[] = new Array(n)
    const exactAt: number[] = []
    for (let i = 0; i < n; i++) {
      const kind = kinds[i]
      const slot = slots[i] as LeaseSlot
      if (kind === ALLOW) verdicts[i] = allowVerdict(slot, cost, now)
      else if (kind === DENY) verdicts[i] = denyVerdict(slot, now)
      // EXACT, or (in a denied check, which asks for nothing) REFILL: peeked at exactly.
      else exactAt.push(i)
    }
    if (denied) return this.#withExact(request, verdicts, exactAt, exact, true, undefined, away)
    // Units taken while exact rules are asked are pending: reported held by any ask sent
    // meanwhile, so that they can come back if an exact rule denies.
    const waits = exactAt.length > 0
    const taken: Taken[] = []
    for (let i = 0; i < n; i++) {
      if (kinds[i] !== ALLOW) continue
      const slot = slots[i] as LeaseSlot
      slot.remaining -= cost
      slot.spent += cost
      slot.used += cost
      if (waits) {
        slot.pending += cost
        taken.push({ slot, term: slot.term })
      }
      this.#maybePrefetch(rules[i] as CompiledRule, slot, cost, now)
    }
    return this.#withExact(request, verdicts, exactAt, exact, false, taken, away)
  }

  #kindOf(rule: CompiledRule, slot: LeaseSlot, cost: number, now: number, round: number): number {
    if (slot.validAt(now) >= cost) return ALLOW
    if (now < slot.dryUntil) return DENY
    if (now < slot.failedUntil || round >= MAX_ROUNDS || this.#closing || this.#transport.unavailable()) {
      return EXACT
    }
    // More than a slice holds (more than the whole quota, too: the exact rule says so, with its
    // retryAfterMs of Infinity): a slice of that size, put back when an exact rule of the check
    // denies, would sit on this instance unused and starve the others.
    if (cost > this.#tuningOf(rule).maxSlice) return EXACT
    return REFILL
  }

  /**
   * Fills in the verdicts of the rules at `exactAt` from the exact path and decides the whole
   * check: when an enforcing exact rule denies, the units `taken` from slices go back.
   */
  #withExact(
    request: EvaluationRequest,
    verdicts: RuleVerdict[],
    exactAt: readonly number[],
    exact: ExactPath,
    peek: boolean,
    taken: readonly Taken[] | undefined,
    away: boolean,
  ): MaybePromise<Evaluation> {
    if (exactAt.length === 0) return { verdicts, degraded: false }
    const { rules, subjectKeys, cost } = request
    const sub: EvaluationRequest = {
      rules: exactAt.map((i) => rules[i] as CompiledRule),
      subjectKeys: exactAt.map((i) => subjectKeys[i] as string),
      cost,
    }
    const merge = (evaluation: Evaluation): Evaluation => {
      let admitted = true
      for (let j = 0; j < exactAt.length; j++) {
        const at = exactAt[j] as number
        const verdict = evaluation.verdicts[j] as RuleVerdict
        verdicts[at] = verdict
        if (!verdict.allowed && !(rules[at] as CompiledRule).shadow) admitted = false
      }
      if (taken !== undefined) {
        const now = this.#clock()
        for (const { slot, term } of taken) settle(slot, term, cost, !admitted, now)
      }
      return { verdicts, degraded: evaluation.degraded }
    }
    const answer = exact(sub, peek, away)
    return isPromiseLike(answer) ? Promise.resolve(answer).then(merge) : merge(answer)
  }

  /** Asks for the next slice once half of the last one is spent, while checks still pass. */
  #maybePrefetch(rule: CompiledRule, slot: LeaseSlot, cost: number, now: number): void {
    if (slot.refilling !== undefined || now < slot.dryUntil || now < slot.failedUntil) return
    // Pending units count as still held: checks an exact rule denies put them back, and asking
    // on their account would let a client denied by its own rule pile slices on this instance.
    const held = slot.remaining + slot.pending
    if (held * 2 > slot.lastGrant && held >= cost) return
    if (this.#closing || this.#transport.unavailable()) return
    this.#ask(rule, slot, 0)
  }

  /**
   * Asks Redis for the next slice of `rule` for the slot's key, unless an ask is under way
   * (then its outcome is waited for). `need`: units the waiting check lacks (0 for an ask
   * ahead of time). Resolves false when it failed, which pauses the key's leasing (see
   * `failedUntil`); never rejects.
   */
  #ask(rule: CompiledRule, slot: LeaseSlot, need: number): Promise<boolean> {
    if (slot.refilling !== undefined) return slot.refilling
    const tuning = this.#tuningOf(rule)
    const sentAt = this.#clock()
    const held = sentAt < slot.deadline ? slot.remaining + slot.pending : 0
    slot.spent = 0
    const elapsed = sentAt - slot.askedAt
    if (elapsed > 0) {
      const rate = slot.demand / elapsed
      slot.rate = slot.rate === 0 ? rate : (slot.rate + rate) / 2
      slot.demand = 0
      slot.askedAt = sentAt
    }
    const ask = Math.min(tuning.maxSlice, Math.max(1, Math.ceil(slot.rate * LEAD_MS)))
    const [clockArg, minTtl] = this.#transport.header()
    const args = [
      clockArg,
      minTtl,
      this.#transport.ruleArg(rule),
      this.#instanceId,
      String(ask),
      String(Math.max(0, need)),
      String(held),
      tuning.bucket ? 'b' : 'w',
      String(tuning.ttlMs),
      String(tuning.maxSlice),
    ]
    const key = slot.key
    const call = this.#transport.run(this.#scriptsNow().take, [key, key + LEASE_KEY_SUFFIX], args).then(
      (reply) => {
        const [grant, life, left, retry, reset] = String(reply).split(' ').map(Number) as [
          number,
          number,
          number,
          number,
          number,
        ]
        const now = this.#clock()
        if (now >= slot.deadline) {
          // The units held ended before this slice came: a new term (see `LeaseSlot.term`).
          slot.term++
          slot.pending = 0
          slot.used = 0
        }
        slot.remaining = slot.validAt(now) + grant
        // Less a thousandth: a local clock ticking slower than Redis's (up to 1,000 ppm, far more
        // than NTP lets clocks drift) still ends the slice first.
        slot.deadline = sentAt + life - life / SKEW_RATE_DIVISOR
        slot.left = left
        slot.resetAt = sentAt + reset
        slot.lastGrant = grant
        slot.dryUntil = grant === 0 || grant < need ? sentAt + retry : Number.NEGATIVE_INFINITY
        slot.refilling = undefined
        this.#transport.succeeded()
        if (grant > 0) this.#transport.granted(rule, slot.subjectKey, grant)
        return true
      },
      (error: unknown) => {
        slot.failedUntil = this.#clock() + PAUSE_AFTER_FAILURE_MS
        slot.refilling = undefined
        this.#transport.failed(error)
        return false
      },
    )
    slot.refilling = call
    return call
  }

  /**
   * `always`: also when nothing is left (on close), so that the instance's entry leaves the
   * key's lease table, where it would count as wanting the key until its slice's end.
   */
  #giveBack(slot: LeaseSlot, always: boolean): Promise<unknown> {
    const rule = slot.rule
    const units = slot.validAt(this.#clock())
    const asked = slot.deadline !== Number.NEGATIVE_INFINITY
    if (!(units > 0 || (always && asked)) || this.#transport.unavailable()) return Promise.resolve()
    slot.remaining = 0
    const [clockArg, minTtl] = this.#transport.header()
    const tuning = this.#tuningOf(rule)
    return this.#transport
      .run(
        this.#scriptsNow().giveBack,
        [slot.key, slot.key + LEASE_KEY_SUFFIX],
        [
          clockArg,
          minTtl,
          this.#transport.ruleArg(rule),
          this.#instanceId,
          String(units),
          tuning.bucket ? 'b' : 'w',
        ],
      )
      .catch(() => {})
  }

  #slotOf(rule: CompiledRule, subjectKey: string, now: number): LeaseSlot {
    // A hot key is asked for again and again: its slot is found by the rule, without building
    // and hashing the store key each time (measured: that lookup was a third of a leased check).
    const recent = this.#recent.get(rule)
    if (recent !== undefined && recent.subjectKey === subjectKey && recent.live) return recent
    const slot = this.#lookUp(rule, subjectKey, now)
    this.#recent.set(rule, slot)
    return slot
  }

  #lookUp(rule: CompiledRule, subjectKey: string, now: number): LeaseSlot {
    const key = this.#keyOf(rule, subjectKey)
    let slot = this.#slots.get(key)
    if (slot === undefined) {
      slot = new LeaseSlot(rule, subjectKey, key, now)
      const evicted = this.#slots.set(key, slot)
      this.#all.set(key, slot)
      if (evicted !== undefined) {
        evicted.live = false
        this.#all.delete(evicted.key)
        void this.#giveBack(evicted, false)
      }
    }
    return slot
  }

  #keyOf(rule: CompiledRule, subjectKey: string): string {
    return this.#transport.keyOf(rule, subjectKey)
  }

  #tuningOf(rule: CompiledRule): { maxSlice: number; ttlMs: number; bucket: boolean } {
    let tuning = this.#tuning.get(rule)
    if (tuning === undefined) {
      const lease = rule.lease
      const bucket = rule.algorithm.lease === 'bucket'
      tuning = {
        maxSlice: lease?.maxSlice ?? Math.max(1, Math.floor(capacityOf(rule) / 100)),
        ttlMs: lease?.ttlMs ?? Math.min(DEFAULT_BUCKET_TTL_MS, rule.params.windowMs),
        bucket,
      }
      this.#tuning.set(rule, tuning)
    }
    return tuning
  }

  /** The lease scripts for every algorithm the store knows (built again when one is added). */
  #scriptsNow(): { take: RedisScript; giveBack: RedisScript } {
    const algorithms = this.#transport.algorithms()
    const built = this.#scripts
    if (built !== undefined && built.algorithms === algorithms.length) return built
    const scripts = {
      take: new Script(buildLeaseScript(algorithms)),
      giveBack: new Script(buildGiveBackScript(algorithms)),
      algorithms: algorithms.length,
    }
    this.#scripts = scripts
    return scripts
  }
}

/** The most units a leased rule's pool holds: a window's limit, a bucket's capacity. */
function capacityOf(rule: CompiledRule): number {
  return rule.algorithm.lease === 'bucket' ? (rule.params.burst ?? rule.params.limit) : rule.params.limit
}

/** Units a check took from a slice while its exact rules were asked (see `LeaseSlot.pending`). */
interface Taken {
  readonly slot: LeaseSlot
  readonly term: number
}

/**
 * A check that took `cost` from `slot` in `term` is decided: the units are no longer pending,
 * and when the check was denied they go back into the slice, if it has not ended meanwhile.
 */
function settle(slot: LeaseSlot, term: number, cost: number, denied: boolean, now: number): void {
  if (slot.term !== term) return
  slot.pending = Math.max(0, slot.pending - cost)
  if (!denied || now >= slot.deadline) return
  slot.remaining += cost
  slot.spent = Math.max(0, slot.spent - cost)
  slot.used = Math.max(0, slot.used - cost)
}

/**
 * Puts back up to `cost` units taken from `slot`: a bucket's as far as they were taken since
 * the last ask (`LeaseSlot.spent`), a window's as far as this window's slices admitted
 * (`LeaseSlot.used`), as an exact refund lowers the window's count at most to 0.
 */
function credit(slot: LeaseSlot, cost: number, now: number): void {
  if (now >= slot.deadline) return
  const bucket = slot.rule.algorithm.lease === 'bucket'
  const back = Math.min(cost, bucket ? slot.spent : slot.used)
  slot.remaining += back
  slot.spent = Math.max(0, slot.spent - back)
  slot.used = Math.max(0, slot.used - back)
}

function allowVerdict(slot: LeaseSlot, cost: number, now: number): RuleVerdict {
  return {
    allowed: true,
    remaining: Math.max(0, Math.floor(slot.remaining - cost + slot.left)),
    resetMs: Math.max(0, slot.resetAt - now),
    retryAfterMs: 0,
    delayMs: 0,
  }
}

function denyVerdict(slot: LeaseSlot, now: number): RuleVerdict {
  const retryAfterMs = Math.max(1, Math.ceil(slot.dryUntil - now))
  return {
    allowed: false,
    remaining: Math.max(0, Math.floor(slot.validAt(now))),
    resetMs: Math.max(retryAfterMs, slot.resetAt - now),
    retryAfterMs,
    delayMs: 0,
  }
}
