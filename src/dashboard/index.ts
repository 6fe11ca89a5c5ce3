import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Limiter } from '../limiter'
import { Collector } from './collector'
import { type DashboardOptions, readDashboardOptions } from './dashboard-options'
import { handle } from './handler'
import { loadAssets } from './static-assets'
import { StreamHub } from './stream-hub'

export type { Authorization, DashboardOptions } from './dashboard-options'

/** Seconds of history the charts show. */
const HISTORY_SECONDS = 300

/** The handler `dashboard()` returns: a Node request listener with a way to stop it. */
export interface DashboardHandler {
  (req: IncomingMessage, res: ServerResponse): void
  /** Stops listening to the limiter and ends the open live views. Idempotent. */
  close(): void
}

/**
 * The operations dashboard of `limiter` as a Node request handler: mount it in Express
 * (`app.use('/ops', dashboard(limiter, { token }))`), Fastify, Koa or node:http (see
 * docs/dashboard.md). It serves one page (public, with no data in it) and its data (only with
 * the token or the `authorize` hook's consent): live counts per rule, the top denied keys,
 * the store's and the configuration's state; with `allowEdits`, rule edits.
 *
 * Throws a TypeError without a `token` or an `authorize` hook. The limiter pays nothing until
 * this is called; from then on, one `decision` listener (measured in docs/dashboard.md).
 */
export function dashboard(limiter: Limiter, options: DashboardOptions): DashboardHandler {
  if (typeof limiter?.on !== 'function' || typeof limiter.inspect !== 'function') {
    throw new TypeError(
      'dashboard: expected a Limiter made by createLimiter (of this version of diana-limiter)',
    )
  }
  const read = readDashboardOptions(options)
  const assets = loadAssets()
  const collector = new Collector(limiter, {
    now: read.now,
    seconds: HISTORY_SECONDS,
    topK: read.topK,
    nearLimitRatio: read.nearLimitRatio,
    showKeys: read.showKeys,
  })
  // Store events come once per outage, not per check.
  let storeEvent: { event: string; at: number; detail: string } | undefined
  const onDegraded = (info: { reason: string; policy: string }) => {
    storeEvent = { event: 'degraded', at: read.now(), detail: `${info.reason} (policy ${info.policy})` }
  }
  const onRecovered = (info: { downMs: number }) => {
    storeEvent = { event: 'recovered', at: read.now(), detail: `after ${Math.round(info.downMs)} ms` }
  }
  const status = () => {
    const inspection = limiter.inspect()
    return {
      limiter: limiter.name,
      ...inspection,
      storeEvent,
      allowEdits: read.allowEdits,
      showKeys: read.showKeys,
    }
  }
  const hub = new StreamHub(read.maxStreams, read.now, () => ({
    ...collector.lastSecond(),
    top: collector.tops(),
    status: status(),
  }))
  collector.start()
  limiter.on('degraded', onDegraded)
  limiter.on('recovered', onRecovered)
  const parts = { limiter, options: read, collector, assets, hub, status }
  let closed = false
  const handler = ((req: IncomingMessage, res: ServerResponse) => handle(parts, req, res)) as DashboardHandler
  handler.close = () => {
    if (closed) return
    closed = true
    collector.stop()
    limiter.off('degraded', onDegraded)
    limiter.off('recovered', onRecovered)
    hub.close()
  }
  return handler
}
