import type { Counter, Gauge, Histogram, Metric, Registry } from 'prom-client'

type PromClient = typeof import('prom-client')

/** The metric objects every limiter on one registry (and prefix) writes to. */
export interface MetricSet {
  allowed: Counter<'limiter' | 'rule'>
  denied: Counter<'limiter' | 'rule'>
  shadowDenied: Counter<'limiter' | 'rule'>
  nearLimit: Counter<'limiter' | 'rule'>
  degraded: Gauge<'limiter'>
  checkDuration: Histogram<'limiter'>
}

/** One limiter's share of a {@link MetricSet}; `release` gives it back. */
export interface SharedMetrics {
  metrics: MetricSet
  release(): void
}

/**
 * Who uses a metric set, kept on the metric objects themselves under a registered symbol:
 * they go with the registry (a `registry.clear()` forgets them too), and a limiter from the
 * package's ESM build finds the set made through its CJS build, as prom-client is one copy.
 */
const GROUP = Symbol.for('diana-limiter.metrics-group')

interface Group {
  metrics: MetricSet
  buckets: readonly number[]
  /** Names of the limiters reporting to this set. */
  users: Set<string>
}

type Tagged = Metric & { [GROUP]?: Group }

const HELP: Record<keyof MetricSet, string> = {
  allowed: 'Requests the limiter allowed, by binding rule.',
  denied: 'Requests the limiter denied, by binding rule.',
  shadowDenied: 'Requests a shadow rule would have denied, by rule.',
  nearLimit: 'Allowed requests after which the binding rule had used at least nearLimitRatio of its limit.',
  degraded: '1 while decisions are taken locally because the shared store failed, else 0.',
  checkDuration: 'Time limiter.check took, in seconds.',
}

function metricNames(prefix: string): Record<keyof MetricSet, string> {
  return {
    allowed: `${prefix}allowed_total`,
    denied: `${prefix}denied_total`,
    shadowDenied: `${prefix}shadow_denied_total`,
    nearLimit: `${prefix}near_limit_total`,
    degraded: `${prefix}store_degraded`,
    checkDuration: `${prefix}check_duration_seconds`,
  }
}

/**
 * The metric set of `registry` and `prefix`, made on first use and reused after, with `name`
 * added to its users. Throws a TypeError when `name` already reports there, when a metric of
 * that name was made by something else (prom-client would refuse to register it twice), or
 * when the buckets differ from the set's.
 */
export function shareMetrics(
  client: PromClient,
  registry: Registry,
  prefix: string,
  buckets: readonly number[],
  name: string,
): SharedMetrics {
  const names = metricNames(prefix)
  const group = existingGroup(registry, names) ?? createGroup(client, registry, names, buckets)
  if (!sameNumbers(group.buckets, buckets)) {
    throw new TypeError(
      `dianaMetrics: buckets must be the same for every limiter reporting to one registry; the first used [${group.buckets.join(', ')}]`,
    )
  }
  if (group.users.has(name)) {
    throw new TypeError(
      `dianaMetrics: a limiter named ${JSON.stringify(name)} already reports to this registry; give each limiter its own name, e.g. createLimiter({ name: 'checkout', ... }) or dianaMetrics(limiter, { name: 'checkout' })`,
    )
  }
  group.users.add(name)
  let released = false
  return {
    metrics: group.metrics,
    release() {
      if (released) return
      released = true
      group.users.delete(name)
      if (group.users.size > 0) return
      for (const key of Object.keys(names) as (keyof MetricSet)[]) {
        // Only our own object: the registry may have been cleared and refilled meanwhile.
        if (registry.getSingleMetric(names[key]) === group.metrics[key])
          registry.removeSingleMetric(names[key])
      }
    },
  }
}

function existingGroup(registry: Registry, names: Record<keyof MetricSet, string>): Group | undefined {
  let group: Group | undefined
  let missing = false
  for (const metricName of Object.values(names)) {
    const metric = registry.getSingleMetric(metricName) as Tagged | undefined
    if (metric === undefined) {
      missing = true
      continue
    }
    const tag = metric[GROUP]
    if (tag === undefined || (group !== undefined && tag !== group)) {
      throw new TypeError(
        `dianaMetrics: the registry already has a metric named "${metricName}" that this dianaMetrics did not make; pass another prefix or registry`,
      )
    }
    group = tag
  }
  if (group !== undefined && missing) {
    // Someone removed part of the set by hand: registering the rest again would collide.
    throw new TypeError(
      `dianaMetrics: some of the "${names.allowed.replace(/allowed_total$/, '')}*" metrics were removed from the registry while limiters still report to them; pass another prefix or registry`,
    )
  }
  return group
}

function createGroup(
  client: PromClient,
  registry: Registry,
  names: Record<keyof MetricSet, string>,
  buckets: readonly number[],
): Group {
  const registers = [registry]
  const counter = (key: 'allowed' | 'denied' | 'shadowDenied' | 'nearLimit') =>
    new client.Counter({
      name: names[key],
      help: HELP[key],
      labelNames: ['limiter', 'rule'] as const,
      registers,
    })
  const metrics: MetricSet = {
    allowed: counter('allowed'),
    denied: counter('denied'),
    shadowDenied: counter('shadowDenied'),
    nearLimit: counter('nearLimit'),
    degraded: new client.Gauge({
      name: names.degraded,
      help: HELP.degraded,
      labelNames: ['limiter'] as const,
      registers,
    }),
    checkDuration: new client.Histogram({
      name: names.checkDuration,
      help: HELP.checkDuration,
      labelNames: ['limiter'] as const,
      buckets: [...buckets],
      registers,
    }),
  }
  const group: Group = { metrics, buckets: [...buckets], users: new Set() }
  for (const metric of Object.values(metrics)) (metric as Tagged)[GROUP] = group
  return group
}

function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i])
}
