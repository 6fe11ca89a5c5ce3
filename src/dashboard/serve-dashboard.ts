import type { Limiter } from '../limiter'
import { type DashboardHandler, dashboard } from './index'

/** Where `diana serve` mounts the dashboard. */
export const SERVE_DASHBOARD_PATH = '/dashboard'

/**
 * The dashboard of `diana serve`, from its environment: on when `DIANA_DASHBOARD_TOKEN` holds
 * a token (an environment variable rather than a flag, so it shows in no process list),
 * read-only unless `DIANA_DASHBOARD_EDITS=1`. A string says why it is off (the 404's text), or
 * why the token was refused.
 */
export function serveDashboard(
  limiter: Limiter,
  env: Record<string, string | undefined>,
): DashboardHandler | string {
  const token = env.DIANA_DASHBOARD_TOKEN
  if (token === undefined || token === '') {
    return 'the dashboard is off: start diana serve with DIANA_DASHBOARD_TOKEN set (docs/dashboard.md)'
  }
  const edits = env.DIANA_DASHBOARD_EDITS
  if (edits !== undefined && edits !== '0' && edits !== '1') {
    throw new TypeError(`DIANA_DASHBOARD_EDITS must be 0 or 1 (got ${JSON.stringify(edits)})`)
  }
  try {
    return dashboard(limiter, { token, allowEdits: edits === '1', basePath: SERVE_DASHBOARD_PATH })
  } catch (error) {
    throw new TypeError(`DIANA_DASHBOARD_TOKEN: ${(error as Error).message}`)
  }
}
