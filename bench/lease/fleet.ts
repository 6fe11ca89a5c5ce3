import { type ChildProcess, fork } from 'node:child_process'
import { LEASE_WORKER_COMMAND } from './options'
import type { FromWorker, ToWorker } from './protocol'

/** The benchmark's handle on one worker process: one request at a time, answered in order. */
export interface Worker {
  request(message: ToWorker): Promise<FromWorker>
  kill(): void
}

// A worker answers prepare and close within seconds; "go" within its duration plus this.
const ANSWER_GRACE_MS = 30_000

/** Forks `count` workers: this same CLI with the hidden subcommand, as the overload bench does. */
export function startFleet(count: number): Worker[] {
  const entry = process.argv[1]
  if (!entry) throw new Error('cannot tell which script to start the worker processes with')
  return Array.from({ length: count }, (_, i) =>
    workerHandle(
      `worker ${i + 1}`,
      fork(entry, ['bench', LEASE_WORKER_COMMAND], {
        execArgv: process.execArgv,
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    ),
  )
}

function workerHandle(name: string, child: ChildProcess): Worker {
  let waiting: { resolve: (m: FromWorker) => void; reject: (e: Error) => void } | undefined
  child.on('message', (message: FromWorker) => {
    const pending = waiting
    waiting = undefined
    pending?.resolve(message)
  })
  child.on('exit', (code, signal) => {
    const pending = waiting
    waiting = undefined
    pending?.reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before answering`))
  })
  return {
    request: (message) =>
      new Promise<FromWorker>((resolve, reject) => {
        if (waiting) return reject(new Error(`${name} is still busy with another request`))
        if (child.exitCode !== null || child.signalCode !== null)
          return reject(new Error(`${name} has exited`))
        const limitMs = ANSWER_GRACE_MS + (message.type === 'go' ? message.durationMs : 0)
        const timer = setTimeout(() => {
          waiting = undefined
          reject(new Error(`${name} did not answer "${message.type}" within ${limitMs / 1000} s`))
        }, limitMs)
        waiting = {
          resolve: (answer) => {
            clearTimeout(timer)
            if (answer.type === 'error') reject(new Error(`${name}: ${answer.message}`))
            else resolve(answer)
          },
          reject: (error) => {
            clearTimeout(timer)
            reject(error)
          },
        }
        child.send(message)
      }),
    kill: () => {
      if (child.connected) child.disconnect()
      child.kill()
    },
  }
}
