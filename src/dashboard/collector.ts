import { createHmac, randomBytes } from 'node:crypto'
import type { Decision } from '../decision'
import type { Limiter } from '../limiter'
import type { Subject } from '../types'
import { PerSecondSeries } from './per-second-series'
import { type TopEntry, TopK } from './top-k'

/** The four counts the page charts per rule, in this order on the wire. */
export const SERIES = ['allowed', 'denied', 'shadowDenied', 'nearLimit'] as const

/** Most rules tracked at once: a limiter has tens; a bound in case names churn across reloads. */
export const MAX_TRACKED_RULES = 256
/** Longest key value kept per dimension: a hostile subject cannot make the sketch's keys large. */
const MAX_KEY_PART = 128

export interface CollectorOptions {
  now: () => number
  seconds: number
  topK: number
  nearLimitRatio: number
  showKeys: boolean
}

interface RuleStats {
  series: PerSecondSeries[]
  /** Denied keys of this period and the one before: the sketch forgets keys older than two periods. */
  top: TopK
  previousTop: TopK | undefined
}

export interface RuleSnapshot {
  name: string
  inForce: boolean
  /** Per second, oldest first, the last `seconds` seconds ending with the last whole second. */
  allowed: number[]
  denied: number[]
  shadowDenied: number[]
  nearLimit: number[]
  top: TopEntry[]
}

/**
 * Listens to a limiter's `decision` event and counts, per rule, what the page charts: in
 * fixed memory (a ring per count, a top-K sketch per rule), whatever the traffic. Nothing runs
 * per check before `start()`, and nothing after `stop()`.
 */
export class Collector {
  readonly #limiter: Limiter
  readonly #options: CollectorOptions
  readonly #rules = new Map<string, RuleStats>()
  /** Each rule's dimensions, to name a denied subject's key; refreshed when a name is missing. */
  #dimensions = new Map<string, string[]>()
  /** Start of the current top-K period, in ms. */
  #periodStart: number
  /** Keys are shown as an HMAC under this per-dashboard secret unless `showKeys`. */
  readonly #secret = randomBytes(32)
  #listening = false

  constructor(limiter: Limiter, options: CollectorOptions) {
    this.#limiter = limiter
    this.#options = options
    this.#periodStart = options.now()
    this.#refreshDimensions()
  }

  start(): void {
    if (this.#listening) return
    this.#listening = true
    this.#limiter.on('decision', this.#onDecision)
    this.#limiter.on('config', this.#onConfig)
  }

  stop(): void {
    if (!this.#listening) return
    this.#listening = false
    this.#limiter.off('decision', this.#onDecision)
    this.#limiter.off('config', this.#onConfig)
  }

  readonly #onConfig = (): void => this.#refreshDimensions()

  readonly #onDecision = (decision: Decision, subject: Subject): void => {
    this.record(decision, subject)
  }

  /** Counts one decision (public for tests that drive it with a fake clock). */
  record(decision: Decision, subject: Subject): void {
    const now = this.#options.now()
    const name = decision.rule
    if (name !== undefined) {
      const stats = this.#stats(name, now)
      if (stats !== undefined) {
        if (decision.allowed) {
          ;(stats.series[0] as PerSecondSeries).add(now)
          if (isNearLimit(decision, this.#options.nearLimitRatio))
            (stats.series[3] as PerSecondSeries).add(now)
        } else {
          ;(stats.series[1] as PerSecondSeries).add(now)
          stats.top.offer(this.#keyOf(name, subject))
        }
      }
    }
    const shadow = decision.shadowDenied
    if (shadow !== undefined) {
      for (const rule of shadow) this.#stats(rule, now)?.series[2]?.add(now)
    }
  }

  #stats(name: string, now: number): RuleStats | undefined {
    this.#rotate(now)
    let stats = this.#rules.get(name)
    if (stats === undefined) {
      if (this.#rules.size >= MAX_TRACKED_RULES) return undefined
      const seconds = this.#options.seconds
      stats = {
        series: SERIES.map(() => new PerSecondSeries(seconds)),
        top: new TopK(this.#options.topK),
        previousTop: undefined,
      }
      this.#rules.set(name, stats)
    }
    return stats
  }

  /** Starts a new top-K period once the current one is `seconds` old. */
  #rotate(now: number): void {
    const periodMs = this.#options.seconds * 1000
    if (now - this.#periodStart < periodMs) return
    this.#periodStart = now
    for (const [name, stats] of this.#rules) {
      stats.previousTop = stats.top.total > 0 ? stats.top : undefined
      stats.top = new TopK(this.#options.topK)
      // A rule no longer in force with nothing left to show is forgotten.
      if (!this.#dimensions.has(name) && stats.previousTop === undefined) this.#rules.delete(name)
    }
  }

  #refreshDimensions(): void {
    const next = new Map<string, string[]>()
    for (const rule of this.#limiter.rules) {
      next.set(rule.name, Array.isArray(rule.dimension) ? [...rule.dimension] : [rule.dimension])
    }
    this.#dimensions = next
  }

  /** The subject's values of the rule's dimensions, e.g. `account=alice`, bounded in length. */
  #keyOf(rule: string, subject: Subject): string {
    const dimensions = this.#dimensions.get(rule)
    if (dimensions === undefined) return '?'
    let key = ''
    for (const dimension of dimensions) {
      const value = (subject as Record<string, unknown>)[dimension]
      const text =
        dimension === 'global' ? '*' : typeof value === 'string' ? value.slice(0, MAX_KEY_PART) : '?'
      key += key === '' ? `${dimension}=${text}` : ` ${dimension}=${text}`
    }
    return key
  }

  /** How a key is shown: itself with `showKeys`, else a stable pseudonym that reveals nothing. */
  shown(key: string): string {
    if (this.#options.showKeys) return key
    return `#${createHmac('sha256', this.#secret).update(key).digest('hex').slice(0, 12)}`
  }

  /** Every tracked rule and every rule in force, with the last `seconds` whole seconds. */
  snapshot(now = this.#options.now()): RuleSnapshot[] {
    this.#rotate(now)
    // The last whole second: the current one is still being counted.
    const until = now - 1000
    const names = new Set([...this.#dimensions.keys(), ...this.#rules.keys()])
    const out: RuleSnapshot[] = []
    for (const name of names) {
      const stats = this.#rules.get(name)
      const windows = SERIES.map((_, i) =>
        stats === undefined
          ? new Array<number>(this.#options.seconds).fill(0)
          : (stats.series[i] as PerSecondSeries).window(until),
      )
      out.push({
        name,
        inForce: this.#dimensions.has(name),
        allowed: windows[0] as number[],
        denied: windows[1] as number[],
        shadowDenied: windows[2] as number[],
        nearLimit: windows[3] as number[],
        top: stats === undefined ? [] : this.#top(stats),
      })
    }
    return out
  }

  /** The counts of the last whole second per rule, `[allowed, denied, shadowDenied, nearLimit]`. */
  lastSecond(now = this.#options.now()): { second: number; rules: Record<string, number[]> } {
    const until = now - 1000
    const rules: Record<string, number[]> = {}
    for (const [name, stats] of this.#rules) rules[name] = stats.series.map((series) => series.at(until))
    return { second: Math.floor(until / 1000), rules }
  }

  /** Tops of every tracked rule, keys shown as {@link shown}. */
  tops(): Record<string, TopEntry[]> {
    const out: Record<string, TopEntry[]> = {}
    for (const [name, stats] of this.#rules) out[name] = this.#top(stats)
    return out
  }

  #top(stats: RuleStats): TopEntry[] {
    const merged = new Map<string, TopEntry>()
    for (const sketch of [stats.previousTop, stats.top]) {
      if (sketch === undefined) continue
      for (const entry of sketch.top()) {
        const held = merged.get(entry.key)
        if (held === undefined) merged.set(entry.key, entry)
        else {
          held.count += entry.count
          held.error += entry.error
        }
      }
    }
    return [...merged.values()]
      .sort((a, b) => b.count - a.count)
      .slice(0, this.#options.topK)
      .map((entry) => ({ ...entry, key: this.shown(entry.key) }))
  }
}

/** As diana-limiter/metrics counts near-limit: allowed, with at least `ratio` of the limit used. */
function isNearLimit(decision: Decision, ratio: number): boolean {
  const { limit, remaining } = decision
  if (!Number.isFinite(limit) || limit <= 0) return false
  return limit - remaining >= ratio * limit - 1e-9
}
