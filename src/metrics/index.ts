import type { EventEmitter } from 'node:events'
import type { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Limiter } from '../limiter'
import type { Decision } from '../types'
import { loadPromClient } from './load-prom-client'

export interface DianaMetricsOptions {
  /**
   * Where the metrics are registered.
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
   * takes microseconds; a Redis one about a round trip.
   * @default [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1]
   */
  buckets?: number[]
}

export const DEFAULT_METRICS_OPTIONS = {
  prefix: 'diana_',
  buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
} as const

export interface DianaMetrics {
  readonly allowed: Counter<'rule'>
  readonly denied: Counter<'rule'>
  readonly shadowDenied: Counter<'rule'>
  readonly degraded: Gauge
  readonly checkDuration: Histogram
  /** Stops listening to the limiter and removes the metrics from the registry. */
  stop(): void
}

/**
 * Prometheus metrics for a limiter, fed by its events:
 * - `diana_allowed_total{rule}`, `diana_denied_total{rule}`: decisions by binding rule
 *   (`rule=""` when no rule applied);
 * - `diana_shadow_denied_total{rule}`: requests a shadow rule would have denied;
 * - `diana_store_degraded`: 1 while decisions are taken locally because the shared store
 *   failed, else 0;
 * - `diana_check_duration_seconds`: how long `limiter.check` took.
 *
 * The limiter pays for none of this until `dianaMetrics` is called.
 */
export function dianaMetrics(limiter: Limiter, options: DianaMetricsOptions = {}): DianaMetrics {
  if (options === null || typeof options !== 'object')
    throw new TypeError('dianaMetrics: options must be an object')
  const client = loadPromClient()
  const registry = options.registry ?? client.register
  const prefix = options.prefix ?? DEFAULT_METRICS_OPTIONS.prefix
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) {
    throw new TypeError(
      `dianaMetrics: prefix must be a valid metric name prefix (got ${JSON.stringify(prefix)})`,
    )
  }
  const buckets = options.buckets ?? [...DEFAULT_METRICS_OPTIONS.buckets]
  const registers = [registry]

  const allowed = new client.Counter({
    name: `${prefix}allowed_total`,
    help: 'Requests the limiter allowed, by binding rule.',
    labelNames: ['rule'] as const,
    registers,
  })
  const denied = new client.Counter({
    name: `${prefix}denied_total`,
    help: 'Requests the limiter denied, by binding rule.',
    labelNames: ['rule'] as const,
    registers,
  })
  const shadowDenied = new client.Counter({
    name: `${prefix}shadow_denied_total`,
    help: 'Requests a shadow rule would have denied, by rule.',
    labelNames: ['rule'] as const,
    registers,
  })
  const degraded = new client.Gauge({
    name: `${prefix}store_degraded`,
    help: '1 while decisions are taken locally because the shared store failed, else 0.',
    registers,
  })
  const checkDuration = new client.Histogram({
    name: `${prefix}check_duration_seconds`,
    help: 'Time limiter.check took, in seconds.',
    buckets,
    registers,
  })
  degraded.set(0)

  let isDegraded = false
  const setDegraded = (value: boolean) => {
    if (value === isDegraded) return
    isDegraded = value
    degraded.set(value ? 1 : 0)
  }
  const onDecision = (decision: Decision, _subject: unknown, elapsedMs: number) => {
    const rule = decision.rule ?? ''
    if (decision.allowed) allowed.inc({ rule })
    else denied.inc({ rule })
    if (decision.shadowDenied) for (const name of decision.shadowDenied) shadowDenied.inc({ rule: name })
    setDegraded(decision.degraded)
    checkDuration.observe(elapsedMs / 1000)
  }
  // `degraded` and `recovered` come from stores that can fail (Redis); the memory store never does.
  const events = limiter as unknown as EventEmitter
  const onDegraded = () => setDegraded(true)
  const onRecovered = () => setDegraded(false)
  limiter.on('decision', onDecision)
  events.on('degraded', onDegraded)
  events.on('recovered', onRecovered)

  return {
    allowed,
    denied,
    shadowDenied,
    degraded,
    checkDuration,
    stop() {
      limiter.off('decision', onDecision)
      events.off('degraded', onDegraded)
      events.off('recovered', onRecovered)
      for (const metric of ['allowed_total', 'denied_total', 'shadow_denied_total', 'store_degraded']) {
        registry.removeSingleMetric(`${prefix}${metric}`)
      }
      registry.removeSingleMetric(`${prefix}check_duration_seconds`)
    },
  }
}
