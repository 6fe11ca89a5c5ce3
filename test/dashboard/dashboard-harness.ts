import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type DashboardHandler, type DashboardOptions, dashboard } from '../../src/dashboard/index'
import type { Limiter } from '../../src/limiter'

export const TOKEN = 'test-dashboard-token-0123456789abcdef'

/** A logger that keeps its lines. */
export function recording(): { warn(message: string): void; lines: string[] } {
  const lines: string[] = []
  return { lines, warn: (message: string) => lines.push(message) }
}

export interface Running {
  url: string
  handler: DashboardHandler
  server: Server
  close(): Promise<void>
}

/** The dashboard on a node:http server on loopback, wrapped by `wrap` (a framework's mounting). */
export async function serveDashboard(
  limiter: Limiter,
  options: DashboardOptions,
  wrap?: (handler: DashboardHandler) => (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Running> {
  const handler = dashboard(limiter, options)
  const server = createServer(wrap ? wrap(handler) : handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    handler,
    server,
    close: async () => {
      handler.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` })

/** Headers of an edit the page sends. */
export const editHeaders = (token = TOKEN) => ({
  ...auth(token),
  'x-diana-dashboard': '1',
  'content-type': 'application/json',
})
