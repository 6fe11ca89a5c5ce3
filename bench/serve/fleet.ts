import { type ChildProcess, fork } from 'node:child_process'
import type { FromClient, ToClient } from './client'
import { SERVE_CLIENT_COMMAND } from './options'

/** The benchmark's handle on one client process: one request at a time, answered in order. */
export interface Client {
  request(message: ToClient): Promise<FromClient>
  kill(): void
}

// A client answers "prepare" within seconds; "go" within its duration plus this.
const ANSWER_GRACE_MS = 30_000

/** Forks `count` clients: this same CLI with the hidden subcommand, as `diana bench lease` does. */
export function startClients(count: number): Client[] {
  const entry = process.argv[1]
  if (!entry) throw new Error('cannot tell which script to start the client processes with')
  return Array.from({ length: count }, (_, i) =>
    handle(
      `client ${i + 1}`,
      fork(entry, ['bench', SERVE_CLIENT_COMMAND], {
        execArgv: process.execArgv,
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    ),
  )
}

function handle(name: string, child: ChildProcess): Client {
  let waiting: { resolve: (m: FromClient) => void; reject: (e: Error) => void } | undefined
  child.on('message', (message: FromClient) => {
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
      new Promise<FromClient>((resolve, reject) => {
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
