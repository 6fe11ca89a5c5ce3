import { fork } from 'node:child_process'
import type { Server } from 'node:http'

/**
 * An HTTP benchmark's server process, both sides: the app runs in a process of its own and
 * measures its own CPU time while it is loaded, so the load generator's CPU (which shares the
 * machine) is never counted.
 */

/** Messages between an HTTP benchmark and one of its server processes. */
type ToServer = { type: 'start' } | { type: 'stop' }
export type FromServer =
  | { type: 'ready'; port: number }
  | { type: 'usage'; cpuUs: number; requests: number }
  | { type: 'error'; message: string }

/** Requests served and the server process's CPU time (user + system) between start and stop. */
export interface ServerUsage {
  cpuUs: number
  requests: number
}

/** The benchmark's handle on a server process. */
export interface ServerProcess {
  readonly port: number
  /** Starts counting requests and CPU time. */
  start(): void
  /** Stops counting and returns what was counted since {@link start}. */
  stop(): Promise<ServerUsage>
  kill(): void
}

/**
 * Runs in the server process: counts `server`'s requests and the process's CPU time between
 * the benchmark's `start` and `stop` messages, and answers `stop` with them. The benchmark
 * going away (or killing this process) ends it.
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

/**
 * Runs in the benchmark: forks `entry` with `args` and waits until the server listens (it
 * sends `ready`, or `error`). `name` says which server in error messages.
 */
export async function startServerProcess(
  name: string,
  entry: string,
  args: readonly string[],
  options: { execArgv?: string[]; stdout?: 'ignore' | 'inherit' } = {},
): Promise<ServerProcess> {
  const child = fork(entry, args, {
    ...(options.execArgv ? { execArgv: options.execArgv } : {}),
    stdio: ['ignore', options.stdout ?? 'ignore', 'inherit', 'ipc'],
  })
  let waiting: ((message: FromServer) => void) | undefined
  const pending: FromServer[] = []
  child.on('message', (message: FromServer) => {
    if (waiting) {
      const resolve = waiting
      waiting = undefined
      resolve(message)
    } else pending.push(message)
  })
  const nextMessage = () =>
    new Promise<FromServer>((resolve, reject) => {
      const queued = pending.shift()
      if (queued) return resolve(queued)
      const onExit = (code: number | null) =>
        reject(new Error(`${name} exited with code ${code} before answering`))
      child.once('exit', onExit)
      waiting = (message) => {
        child.off('exit', onExit)
        resolve(message)
      }
    })
  const first = await nextMessage()
  if (first.type !== 'ready') {
    child.kill()
    throw new Error(`${name} did not start: ${first.type === 'error' ? first.message : first.type}`)
  }
  return {
    port: first.port,
    start: () => child.send({ type: 'start' } satisfies ToServer),
    stop: async () => {
      const answer = nextMessage()
      child.send({ type: 'stop' } satisfies ToServer)
      const usage = await answer
      if (usage.type !== 'usage') throw new Error(`${name} answered "${usage.type}" instead of its usage`)
      return { cpuUs: usage.cpuUs, requests: usage.requests }
    },
    kill: () => {
      if (child.connected) child.disconnect()
      child.kill()
    },
  }
}
