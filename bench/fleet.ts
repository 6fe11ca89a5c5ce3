import { type ChildProcess, fork } from 'node:child_process'

/** What every request to a benchmark process carries: its type, and for "go" how long it runs. */
export interface FleetRequest {
  readonly type: string
  readonly durationMs?: number
}

/** Every answer: an `error` answer rejects the request with its message. */
export interface FleetAnswer {
  readonly type: string
  readonly message?: string
}

/** The benchmark's handle on one process it forked: one request at a time, answered in order. */
export interface FleetMember<Request extends FleetRequest, Answer extends FleetAnswer> {
  request(message: Request): Promise<Answer>
  kill(): void
}

// A process answers "prepare" and "close" within seconds; "go" within its duration plus this.
const ANSWER_GRACE_MS = 30_000

/**
 * Forks `count` processes of this same CLI running the hidden `bench` subcommand `command`
 * (`diana bench lease`'s workers, `diana bench serve`'s clients), named `${role} 1`, ... in errors.
 */
export function startFleet<Request extends FleetRequest, Answer extends FleetAnswer>(
  count: number,
  command: string,
  role: string,
): FleetMember<Request, Answer>[] {
  const entry = process.argv[1]
  if (!entry) throw new Error(`cannot tell which script to start the ${role} processes with`)
  return Array.from({ length: count }, (_, i) =>
    member<Request, Answer>(
      `${role} ${i + 1}`,
      fork(entry, ['bench', command], {
        execArgv: process.execArgv,
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      }),
    ),
  )
}

function member<Request extends FleetRequest, Answer extends FleetAnswer>(
  name: string,
  child: ChildProcess,
): FleetMember<Request, Answer> {
  let waiting: { resolve: (m: Answer) => void; reject: (e: Error) => void } | undefined
  child.on('message', (message: Answer) => {
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
      new Promise<Answer>((resolve, reject) => {
        if (waiting) return reject(new Error(`${name} is still busy with another request`))
        if (child.exitCode !== null || child.signalCode !== null)
          return reject(new Error(`${name} has exited`))
        const limitMs = ANSWER_GRACE_MS + (message.type === 'go' ? (message.durationMs ?? 0) : 0)
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
