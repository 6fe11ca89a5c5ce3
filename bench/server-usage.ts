import type { Server } from 'node:http'

/** Messages between an HTTP benchmark and one of its server processes. */
export type ToServer = { type: 'start' } | { type: 'stop' }
export type FromServer =
  | { type: 'ready'; port: number }
  | { type: 'usage'; cpuUs: number; requests: number }
  | { type: 'error'; message: string }

/**
 * Runs in the server process: counts `server`'s requests and the process's own CPU time
 * (user + system) between the benchmark's `start` and `stop` messages, and answers `stop` with
 * them, so the load generator's CPU (which shares the machine) is never counted. The
 * benchmark going away (or killing this process) ends it.
 */
export function reportUsage(server: Server, send: (message: FromServer) => void): void {
  let requests = 0
  server.on('request', () => {
    requests++
  })
  let cpu = process.cpuUsage()
  process.on('message', (message: ToServer) => {
    if (message.type === 'start') {
      requests = 0
      cpu = process.cpuUsage()
    } else if (message.type === 'stop') {
      const used = process.cpuUsage(cpu)
      send({ type: 'usage', cpuUs: used.user + used.system, requests })
    }
  })
  process.on('disconnect', () => process.exit(0))
}
