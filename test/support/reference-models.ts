/**
 * Reference models of the built-in algorithms and of the engine's fold, written straight from the
 * contract (/work/shared/CONTRACT.md) and sharing no code with `algorithms/` or `src/`.
 *
 * Everything is exact: times and counts are BigInt, and fractional quantities are kept scaled
 * (tokens·W, TAT·L, estimate·W), so a model answer is never a rounding artefact. The one
 * definition the contract leaves open, leaky-bucket `remaining`, is taken as "how many unit
 * requests would still be admitted right now".
 *
 * `retryAfterMs` is not computed from a formula: it is found by searching for the shortest
 * whole-ms wait after which the same request passes, which is the contract's own definition.
 */

export type ModelAlgorithmName =
  | 'fixed-window'
  | 'sliding-window'
  | 'token-bucket'
  | 'leaky-bucket'
  | 'concurrency'

export interface ModelRule {
  name: string
  dimension: string | string[]
  algorithm: ModelAlgorithmName
  limit: number
  /** ms, or `'500ms' | '1s' | '1m' | '1h' | '1d'` with a whole number. */
  window: number | string
  burst?: number
  mode?: 'shape' | 'police'
  match?: { path?: string | string[]; methods?: string[] }
  shadow?: boolean
  /** ms, or a duration as for `window`: once this rule denies a key, the key is denied this long. */
  blockFor?: number | string
}

/** One rule's answer, in the contract's units. */
export interface ModelVerdict {
  allowed: boolean
  remaining: number
  resetMs: number
  delayMs: number
}

export interface ModelDecision {
  allowed: boolean
  rule?: string
  limit: number
  remaining: number
  resetMs: number
  retryAfterMs: number
  delayMs: number
  degraded: boolean
  shadowDenied?: string[]
}

/** A pure state transition on exact numbers; `next` is the state to keep if admitted. */
export interface AlgorithmModel {
  step(state: unknown, now: bigint, cost: bigint): ModelVerdict & { next: unknown }
  /** True when no wait at all lets `cost` through (it exceeds what the rule can ever hold). */
  neverPasses(cost: bigint): boolean
  /**
   * The state after giving back up to `cost` units at `now`, never more than was taken:
   * counters not below 0, tokens not above capacity, TAT not before now. Undefined: no change.
   */
  refund(state: unknown, now: bigint, cost: bigint): unknown
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

export function windowMsOf(window: number | string): number {
  if (typeof window === 'number') return window
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(window)
  if (!match) throw new Error(`reference model: unsupported window ${window}`)
  return Number(match[1]) * (UNIT_MS[match[2] as string] as number)
}

const max = (a: bigint, b: bigint) => (a > b ? a : b)
const min = (a: bigint, b: bigint) => (a < b ? a : b)
/** ceil(a / b) for a >= 0, b > 0. */
const ceilDiv = (a: bigint, b: bigint) => (a <= 0n ? 0n : (a + b - 1n) / b)

export function algorithmModel(rule: ModelRule): AlgorithmModel {
  const L = BigInt(rule.limit)
  const W = BigInt(windowMsOf(rule.window))
  switch (rule.algorithm) {
    case 'fixed-window':
      return fixedWindowModel(L, W)
    case 'sliding-window':
      return slidingWindowModel(L, W)
    case 'token-bucket':
      return tokenBucketModel(L, W, BigInt(rule.burst ?? rule.limit))
    case 'leaky-bucket':
      return leakyBucketModel(L, W, BigInt(rule.burst ?? 0), rule.mode === 'police')
    case 'concurrency':
      return concurrencyModel(L, W)
  }
}

/** One check's permits, as the concurrency model holds them. */
export interface ModelPermit {
  takenAt: bigint
  units: bigint
}

/**
 * When a permit taken at `takenAt` is reclaimed: time is cut into slots W/8 wide, aligned to
 * the epoch, and a permit is reclaimed at the end of its slot plus W (the first whole ms from
 * then on): never before W has passed, at most W/8 after.
 */
export function reclaimedAt(takenAt: bigint, W: bigint): bigint {
  const slot = (takenAt * 8n) / W
  return ceilDiv((slot + 9n) * W, 8n)
}

/**
 * Concurrency as a list of permits: allow iff the units of those not yet reclaimed plus c <= L;
 * remaining = L - held after; resetMs = until the last of them is reclaimed. A refund (no
 * `heldMs`) gives back from the newest permits.
 */
export function concurrencyModel(L: bigint, W: bigint): AlgorithmModel {
  const live = (state: unknown, now: bigint) =>
    ((state as ModelPermit[] | undefined) ?? []).filter(
      (permit) => permit.units > 0n && now < reclaimedAt(permit.takenAt, W),
    )
  return {
    neverPasses: (cost) => cost > L,
    refund(raw, now, cost) {
      const permits = live(raw, now).map((permit) => ({ ...permit }))
      let left = cost
      for (let i = permits.length - 1; i >= 0 && left > 0n; i--) {
        const permit = permits[i] as ModelPermit
        const back = min(left, permit.units)
        permit.units -= back
        left -= back
      }
      return left < cost ? permits : undefined
    },
    step(raw, now, cost) {
      const permits = live(raw, now)
      const held = permits.reduce((sum, permit) => sum + permit.units, 0n)
      const allowed = held + cost <= L
      const next = allowed ? [...permits, { takenAt: now, units: cost }] : permits
      const after = allowed ? held + cost : held
      const last = next.filter((permit) => permit.units > 0n).at(-1)
      return {
        allowed,
        next,
        remaining: Number(max(0n, L - after)),
        resetMs: last === undefined ? 0 : Number(reclaimedAt(last.takenAt, W) - now),
        delayMs: 0,
      }
    },
  }
}

interface FixedState {
  k: bigint
  count: bigint
}

/** k = floor(now/W); allow iff count_k + c <= L; resetMs = (k+1)W - now; remaining = L - count. */
function fixedWindowModel(L: bigint, W: bigint): AlgorithmModel {
  return {
    neverPasses: (cost) => cost > L,
    refund(raw, now, cost) {
      const state = raw as FixedState | undefined
      // Units of a window that is over limit nothing any more: nothing to give back.
      if (state === undefined || state.k !== now / W) return undefined
      return { k: state.k, count: max(0n, state.count - cost) }
    },
    step(raw, now, cost) {
      const state = raw as FixedState | undefined
      const k = now / W
      const count = state !== undefined && state.k === k ? state.count : 0n
      const allowed = count + cost <= L
      const after = allowed ? count + cost : count
      return {
        allowed,
        next: { k, count: after },
        remaining: Number(max(0n, L - after)),
        resetMs: Number((k + 1n) * W - now),
        delayMs: 0,
      }
    },
  }
}

interface SlidingState {
  k: bigint
  p: bigint
  q: bigint
}

/**
 * est = p(1 - (now - kW)/W) + q, kept as est·W = p((k+1)W - now) + qW so it stays exact.
 * Allow iff est + c <= L; remaining = floor(L - est) after; resetMs = until est reaches 0.
 */
function slidingWindowModel(L: bigint, W: bigint): AlgorithmModel {
  return {
    neverPasses: (cost) => cost > L,
    refund(raw, now, cost) {
      const state = raw as SlidingState | undefined
      const k = now / W
      if (state === undefined || (state.k !== k && state.k !== k - 1n)) return undefined
      const p = state.k === k ? state.p : state.q
      const q = state.k === k ? state.q : 0n
      // From this window's count first, then from the previous window's.
      const fromQ = min(cost, q)
      const fromP = min(cost - fromQ, p)
      return { k, p: p - fromP, q: q - fromQ }
    },
    step(raw, now, cost) {
      const state = raw as SlidingState | undefined
      const k = now / W
      let p = 0n
      let q = 0n
      if (state !== undefined && state.k === k) {
        p = state.p
        q = state.q
      } else if (state !== undefined && state.k === k - 1n) {
        p = state.q
      }
      const estW = p * ((k + 1n) * W - now) + q * W
      const allowed = estW + cost * W <= L * W
      const qAfter = allowed ? q + cost : q
      const estAfterW = p * ((k + 1n) * W - now) + qAfter * W
      let resetMs = 0n
      if (qAfter > 0n) resetMs = (k + 2n) * W - now
      else if (p > 0n) resetMs = (k + 1n) * W - now
      return {
        allowed,
        next: { k, p, q: qAfter },
        remaining: Number(max(0n, (L * W - estAfterW) / W)),
        resetMs: Number(resetMs),
        delayMs: 0,
      }
    },
  }
}

interface TokenState {
  /** tokens·W */
  scaled: bigint
  last: bigint
}

/** tokens = min(B, tokens + elapsed·L/W), kept as tokens·W; allow iff tokens >= c. */
function tokenBucketModel(L: bigint, W: bigint, B: bigint): AlgorithmModel {
  const full = B * W
  return {
    neverPasses: (cost) => cost > B,
    refund(raw, now, cost) {
      const state = raw as TokenState | undefined
      if (state === undefined) return undefined
      const scaled = min(full, state.scaled + max(0n, now - state.last) * L)
      return { scaled: min(full, scaled + cost * W), last: max(state.last, now) }
    },
    step(raw, now, cost) {
      const state = raw as TokenState | undefined
      const scaled = state === undefined ? full : min(full, state.scaled + max(0n, now - state.last) * L)
      const allowed = scaled >= cost * W
      const after = allowed ? scaled - cost * W : scaled
      return {
        allowed,
        next: { scaled: after, last: state === undefined ? now : max(state.last, now) },
        remaining: Number(after / W),
        resetMs: Number(ceilDiv(full - after, L)),
        delayMs: 0,
      }
    },
  }
}

interface LeakyState {
  /** TAT·L */
  tat: bigint
}

/**
 * T = W/L; times kept multiplied by L so T is the whole number W. start = max(now, TAT),
 * delay = start - now; allow iff delay <= B·T; then TAT = start + c·T.
 */
function leakyBucketModel(L: bigint, W: bigint, B: bigint, police: boolean): AlgorithmModel {
  const maxDelay = B * W
  return {
    neverPasses: () => false,
    refund(raw, now, cost) {
      const state = raw as LeakyState | undefined
      if (state === undefined) return undefined
      return { tat: max(now * L, state.tat - cost * W) }
    },
    step(raw, now, cost) {
      const state = raw as LeakyState | undefined
      const nowL = now * L
      const tat = state === undefined ? nowL : state.tat
      const start = max(nowL, tat)
      const delay = start - nowL
      const allowed = delay <= maxDelay
      const nextTat = allowed ? start + cost * W : tat
      const backlog = max(0n, nextTat - nowL)
      return {
        allowed,
        next: { tat: nextTat },
        remaining: backlog > maxDelay ? 0 : Number((maxDelay - backlog) / W + 1n),
        resetMs: Number(ceilDiv(backlog, L)),
        delayMs: allowed && !police ? Number(delay) / Number(L) : 0,
      }
    },
  }
}

/**
 * The shortest whole-ms wait d >= 0 such that `passes(now + d)`, for a predicate that, once
 * true, stays true as time goes on with nothing else arriving (true of all four algorithms).
 */
export function shortestWait(passes: (at: bigint) => boolean, now: bigint): number {
  if (passes(now)) return 0
  let high = 1n
  while (!passes(now + high)) {
    high *= 2n
    if (high > 2n ** 60n) return Number.POSITIVE_INFINITY
  }
  let low = high / 2n // fails (or is 0, which failed above)
  while (high - low > 1n) {
    const mid = (low + high) / 2n
    if (passes(now + mid)) high = mid
    else low = mid
  }
  return Number(high)
}

/** Glob over `/`-separated segments: `*` within a segment, `**` any number of segments. */
export function globMatches(glob: string, path: string): boolean {
  const pattern = glob.split('/')
  const segments = path.split('/')
  const segmentRegExp = (part: string) =>
    new RegExp(
      `^${part
        .split('')
        .map((ch) => (ch === '*' ? '[^/]*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
        .join('')}$`,
    )
  const match = (pi: number, si: number): boolean => {
    if (pi === pattern.length) return si === segments.length
    const part = pattern[pi] as string
    if (part === '**') {
      for (let next = si; next <= segments.length; next++) if (match(pi + 1, next)) return true
      return false
    }
    if (si === segments.length) return false
    return segmentRegExp(part).test(segments[si] as string) && match(pi + 1, si + 1)
  }
  return match(0, 0)
}

export type ModelSubject = Record<string, string | number | undefined>

/** The key values of `rule` for `subject`, or undefined when the rule does not apply. */
export function applicableValues(rule: ModelRule, subject: ModelSubject): string[] | undefined {
  const { match } = rule
  if (match?.path !== undefined) {
    const globs = Array.isArray(match.path) ? match.path : [match.path]
    const resource = subject.resource
    if (typeof resource !== 'string' || !globs.some((glob) => globMatches(glob, resource))) return undefined
  }
  if (match?.methods !== undefined) {
    const method = subject.method
    if (typeof method !== 'string') return undefined
    if (!match.methods.some((m) => m.toUpperCase() === method.toUpperCase())) return undefined
  }
  const values: string[] = []
  for (const dimension of Array.isArray(rule.dimension) ? rule.dimension : [rule.dimension]) {
    if (dimension === 'global') {
      values.push('')
      continue
    }
    const value = subject[dimension]
    if (value === undefined || value === '') return undefined
    values.push(String(value))
  }
  return values
}

/**
 * The whole limiter as the contract describes it: applicability, all-or-nothing, the binding
 * rule (the denying one with the longest wait, else the least remaining; ties to the first
 * listed), shadow rules that count but never deny, and the "no applicable rule" answer.
 */
export class ReferenceLimiter {
  readonly #rules: readonly { rule: ModelRule; model: AlgorithmModel; blockMs: bigint | undefined }[]
  readonly #states = new Map<string, unknown>()
  /** Keys under a `blockFor` penalty: when it ends. */
  readonly #blocks = new Map<string, bigint>()

  constructor(rules: readonly ModelRule[]) {
    this.#rules = rules.map((rule) => ({
      rule,
      model: algorithmModel(rule),
      // A shadow rule never denies, so it never blocks.
      blockMs: rule.blockFor === undefined || rule.shadow ? undefined : BigInt(windowMsOf(rule.blockFor)),
    }))
  }

  #applicable(subject: ModelSubject, only?: string) {
    return this.#rules.flatMap(({ rule, model, blockMs }) => {
      if (only !== undefined && rule.name !== only) return []
      const values = applicableValues(rule, subject)
      return values === undefined
        ? []
        : [{ rule, model, blockMs, key: `${rule.name}\u0000${JSON.stringify(values)}` }]
    })
  }

  /** Forgets the subject's state and block in every applicable rule, or in `only`. */
  reset(subject: ModelSubject, only?: string): void {
    for (const { key } of this.#applicable(subject, only)) {
      this.#states.delete(key)
      this.#blocks.delete(key)
    }
  }

  /** Gives back up to `cost` units in every applicable rule, or in `only`. */
  refund(subject: ModelSubject, nowMs: number, costUnits = 1, only?: string): void {
    const now = BigInt(nowMs)
    for (const { model, key } of this.#applicable(subject, only)) {
      const next = model.refund(this.#states.get(key), now, BigInt(costUnits))
      if (next !== undefined) this.#states.set(key, next)
    }
  }

  /** What `check` would answer, changing nothing. */
  peek(subject: ModelSubject, nowMs: number, costUnits = 1): ModelDecision {
    return this.check(subject, nowMs, costUnits, true)
  }

  check(subject: ModelSubject, nowMs: number, costUnits = 1, peek = false): ModelDecision {
    if (!Number.isInteger(nowMs) || !Number.isInteger(costUnits)) {
      throw new Error('reference model: whole-ms times and whole costs only')
    }
    const now = BigInt(nowMs)
    const cost = BigInt(costUnits)
    const applicable = this.#applicable(subject)
    if (applicable.length === 0) {
      return {
        allowed: true,
        rule: undefined,
        limit: Number.POSITIVE_INFINITY,
        remaining: Number.POSITIVE_INFINITY,
        resetMs: 0,
        retryAfterMs: 0,
        delayMs: 0,
        degraded: false,
      }
    }
    const verdicts = applicable.map(({ model, key }) => model.step(this.#states.get(key), now, cost))
    // blockFor: a key still blocked is denied with nothing remaining, whatever its quota says;
    // one its rule denies now is blocked from now on (a peek only reports that).
    const blockLeft = applicable.map(({ key, blockMs }) => {
      if (blockMs === undefined) return 0n
      const until = this.#blocks.get(key)
      return until !== undefined && until > now ? until - now : 0n
    })
    const blockedNow = applicable.map(
      ({ blockMs }, i) => blockMs !== undefined && blockLeft[i] === 0n && !verdicts[i]?.allowed,
    )
    applicable.forEach(({ blockMs }, i) => {
      const verdict = verdicts[i] as ModelVerdict & { next: unknown }
      const left = blockLeft[i] as bigint
      if (left > 0n || blockedNow[i]) {
        const span = left > 0n ? left : (blockMs as bigint)
        verdicts[i] = {
          ...verdict,
          allowed: false,
          remaining: 0,
          resetMs: Math.max(verdict.resetMs, Number(span)),
          delayMs: 0,
        }
      }
    })
    const enforcing = applicable.map((_rule, i) => i).filter((i) => applicable[i]?.rule.shadow !== true)
    const denying = enforcing.filter((i) => !verdicts[i]?.allowed)
    const allowed = denying.length === 0
    if (allowed && !peek) {
      applicable.forEach(({ key }, i) => {
        const verdict = verdicts[i]
        if (verdict?.allowed) this.#states.set(key, verdict.next)
      })
    }
    if (!peek) {
      applicable.forEach(({ key, blockMs }, i) => {
        if (blockedNow[i]) this.#blocks.set(key, now + (blockMs as bigint))
      })
    }

    const waitOf = (i: number) => {
      const { model, key, blockMs } = applicable[i] as (typeof applicable)[number]
      const block = Number(blockedNow[i] ? (blockMs as bigint) : (blockLeft[i] as bigint))
      if (model.neverPasses(cost)) return Number.POSITIVE_INFINITY
      const state = this.#states.get(key)
      return Math.max(
        block,
        shortestWait((at) => model.step(state, at, cost).allowed, now),
      )
    }
    let binding: number
    let retryAfterMs = 0
    if (!allowed) {
      const waits = denying.map(waitOf)
      let best = 0
      for (let j = 1; j < denying.length; j++) if ((waits[j] as number) > (waits[best] as number)) best = j
      binding = denying[best] as number
      retryAfterMs = waits[best] as number
    } else {
      const candidates = enforcing.length > 0 ? enforcing : applicable.map((_, i) => i)
      binding = candidates[0] as number
      for (const i of candidates) {
        if ((verdicts[i]?.remaining as number) < (verdicts[binding]?.remaining as number)) binding = i
      }
    }
    const delayMs = allowed ? Math.max(0, ...enforcing.map((i) => verdicts[i]?.delayMs as number)) : 0
    const bound = applicable[binding] as (typeof applicable)[number]
    const verdict = verdicts[binding] as ModelVerdict
    const decision: ModelDecision = {
      allowed,
      rule: bound.rule.name,
      limit: bound.rule.limit,
      remaining: verdict.remaining,
      resetMs: verdict.resetMs,
      retryAfterMs,
      delayMs,
      degraded: false,
    }
    const shadowDenied = applicable.filter((a, i) => a.rule.shadow === true && !verdicts[i]?.allowed)
    if (shadowDenied.length > 0) decision.shadowDenied = shadowDenied.map((a) => a.rule.name)
    return decision
  }
}
