import type { EventEmitter } from 'node:events'
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Decision } from '../decision'
import { hint } from '../did-you-mean'
import type { Limiter } from '../limiter'
import { checkLimiterName, DEFAULT_LIMITER_NAME } from '../limiter-name'
import { loadPromClient } from './load-prom-client'
import { type SharedMetrics, shareMetrics } from './shared-metrics'

export interface DianaMetricsOptions {
  /**
   * Where the metrics are registered. Several limiters may report to one registry: they share
   * the metrics and are told apart by the `limiter` label.
   * @default prom-client's global `register`
   */
  registry?: Registry
  /**
   * Prefix of every metric name.
   * @default 'diana_'
   */
  prefix?: string
  /**
   * Upper bounds, in seconds, of the check latency histogram's buckets. A memory-store check
   * takes microseconds; a Redis one about a round trip. Every limiter on one registry (and
   * prefix) must use the same buckets.
   * @default [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1]
   */
  buckets?: number[]
  /**
   * The `limiter` label of this limiter's series. Unique per registry.
   * @default the limiter's `name` ({@link LimiterOptions.name}, itself 'default' unless set)
   */
  name?: string
  /**
   * Share of a rule's limit from which an allowed request counts as near the limit
   * (`diana_near_limit_total`), as Envoy's ratelimit `NEAR_LIMIT_RATIO`. Above 0, at most 1.
   * @default 0.8
   */
  nearLimitRatio?: number
}

export const DEFAULT_METRICS_OPTIONS = {
  prefix: 'diana_',
  buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
  nearLimitRatio: 0.8,
} as const

const OPTION_NAMES = ['registry', 'prefix', 'buckets', 'name', 'nearLimitRatio']

export interface DianaMetrics {
  /** The `limiter` label this limiter reports under. */
  readonly name: string
  readonly allowed: Counter<'limiter' | 'rule'>
  readonly denied: Counter<'limiter' | 'rule'>
  readonly shadowDenied: Counter<'limiter' | 'rule'>
  readonly nearLimit: Counter<'limiter' | 'rule'>
  readonly degraded: Gauge<'limiter'>
  readonly checkDuration: Histogram<'limiter'>
  /**
   * Stops listening to the limiter and removes its series; the metrics themselves leave the
   * registry when the last limiter reporting to them stops. Idempotent.
   */
  stop(): void
}

/**
 * Prometheus metrics for a limiter, fed by its events. Every series has a `limiter` label
 * (the limiter's name), so several limiters share one registry:
 * - `diana_allowed_total{limiter,rule}`, `diana_denied_total{limiter,rule}`: decisions by
 *   binding rule (`rule=""` when no rule applied);
 * - `diana_near_limit_total{limiter,rule}`: allowed requests after which the binding rule had
 *   used at least `nearLimitRatio` of its limit: trouble coming, before anyone is denied;
 * - `diana_shadow_denied_total{limiter,rule}`: requests a shadow rule would have denied;
 * - `diana_store_degraded{limiter}`: 1 while decisions are taken locally because the shared
 *   store failed, else 0;
 * - `diana_check_duration_seconds{limiter}`: how long `limiter.check` took.
 *
 * Two limiters with the same name on one registry are refused (a TypeError): their counts
 * would be added up with no way to tell them apart, and one's degraded state would overwrite
 * the other's. Name them: `createLimiter({ name: 'api', ... })`.
 *
 * The limiter pays for none of this until `dianaMetrics` is called.
 */
export function dianaMetrics(limiter: Limiter, options: DianaMetricsOptions = {}): DianaMetrics {
  if (options === null || typeof options !== 'object')
    throw new TypeError('dianaMetrics: options must be an object')
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new TypeError(`dianaMetrics: unknown option "${key}"${hint(key, OPTION_NAMES)}`)
    }
  }
  if (typeof limiter?.on !== 'function' || typeof limiter.check !== 'function') {
    throw new TypeError('dianaMetrics: expected a Limiter made by createLimiter')
  }
  const prefix = options.prefix ?? DEFAULT_METRICS_OPTIONS.prefix
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) {
    throw new TypeError(
      `dianaMetrics: prefix must be a valid metric name prefix (got ${JSON.stringify(prefix)})`,
    )
  }
  const ratio = options.nearLimitRatio ?? DEFAULT_METRICS_OPTIONS.nearLimitRatio
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) {
    throw new TypeError(
      `dianaMetrics: nearLimitRatio must be a number above 0 and at most 1, such as 0.8 (got ${String(ratio)})`,
    )
  }
  const buckets = options.buckets ?? [...DEFAULT_METRICS_OPTIONS.buckets]
  if (!Array.isArray(buckets) || buckets.some((b) => typeof b !== 'number' || !Number.isFinite(b))) {
    throw new TypeError('dianaMetrics: buckets must be a list of finite numbers of seconds')
  }
  const name =
    options.name !== undefined
      ? checkLimiterName(options.name, 'dianaMetrics: name')
      : // A limiter from an older copy of the package has no name.
        (limiter.name ?? DEFAULT_LIMITER_NAME)
  const client = loadPromClient()
  const registry = options.registry ?? client.register
  const shared = shareMetrics(client, registry, prefix, buckets, name)
  return attach(limiter, shared, name, ratio)
}

function attach(limiter: Limiter, shared: SharedMetrics, name: string, ratio: number): DianaMetrics {
  const { metrics } = shared
  // One label object per rule, made once: the decision path then allocates nothing, and
  // stop() knows every series this limiter wrote.
  const byRule = new Map<string, { limiter: string; rule: string }>()
  const labelsOf = (rule: string) => {
    let labels = byRule.get(rule)
    if (labels === undefined) {
      labels = { limiter: name, rule }
      byRule.set(rule, labels)
    }
    return labels
  }
  const own = { limiter: name }
  metrics.degraded.set(own, 0)

  let isDegraded = false
  const setDegraded = (value: boolean) => {
    if (value === isDegraded) return
    isDegraded = value
    metrics.degraded.set(own, value ? 1 : 0)
  }
  const onDecision = (decision: Decision, _subject: unknown, elapsedMs: number) => {
    const labels = labelsOf(decision.rule ?? '')
    if (decision.allowed) {
      metrics.allowed.inc(labels)
      if (isNearLimit(decision, ratio)) metrics.nearLimit.inc(labels)
    } else {
      metrics.denied.inc(labels)
    }
    if (decision.shadowDenied) {
      for (const rule of decision.shadowDenied) metrics.shadowDenied.inc(labelsOf(rule))
    }
    setDegraded(decision.degraded)
    metrics.checkDuration.observe(own, elapsedMs / 1000)
  }
  // `degraded` and `recovered` come from stores that can fail (Redis); the memory store never does.
  const events = limiter as unknown as EventEmitter
  const onDegraded = () => setDegraded(true)
  const onRecovered = () => setDegraded(false)
  limiter.on('decision', onDecision)
  events.on('degraded', onDegraded)
  events.on('recovered', onRecovered)

  let stopped = false
  return {
    name,
    ...metrics,
    stop() {
      if (stopped) return
      stopped = true
      limiter.off('decision', onDecision)
      events.off('degraded', onDegraded)
      events.off('recovered', onRecovered)
      for (const labels of byRule.values()) {
        for (const counter of [metrics.allowed, metrics.denied, metrics.shadowDenied, metrics.nearLimit]) {
          counter.remove(labels)
        }
      }
      metrics.degraded.remove(own)
      metrics.checkDuration.remove(own)
      shared.release()
    },
  }
}

/**
 * Allowed, and the binding rule has used at least `ratio` of its limit with this request. A
 * small epsilon keeps 0.8 × 10 = 8 from missing by a rounding error.
 */
function isNearLimit(decision: Decision, ratio: number): boolean {
  const { limit, remaining } = decision
  if (decision.rule === undefined || !Number.isFinite(limit) || limit <= 0) return false
  return limit - remaining >= ratio * limit - 1e-9
}
