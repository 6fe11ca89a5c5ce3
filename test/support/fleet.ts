/**
 * A fleet of worker processes for the multi-process Redis tests. Each worker says it is ready
 * with one IPC message, starts on 'go', and answers with one report.
 */
import { type ChildProcess, fork } from 'node:child_process'

const children: ChildProcess[] = []

/** Forks one worker per argument list, starts them together, resolves with their reports. */
export async function runFleet<Report>(worker: string, argLists: readonly string[][]): Promise<Report[]> {
  const workers = argLists.map((args) => {
    const child = fork(worker, args, {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    children.push(child)
    const ready = new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve())
      child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)))
    })
    return { child, ready }
  })
  await Promise.all(workers.map((worker) => worker.ready))
  const reports = workers.map(
    ({ child }) => new Promise<Report>((resolve) => child.once('message', resolve as never)),
  )
  for (const { child } of workers) child.send('go')
  return Promise.all(reports)
}

/** Kills the workers still running (a test that failed half way). */
export function killFleet(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL')
}

/** One worker started on its own (see {@link forkWorker}). */
export interface WorkerHandle<Report> {
  /** Resolves once the worker said it is ready. */
  ready: Promise<void>
  /** Starts it, with this message ('go' by default). */
  go(message?: unknown): void
  /** Resolves with its report, or undefined if it exits without one (killed). */
  report: Promise<Report | undefined>
  kill(): void
}

/**
 * Forks one worker of the same protocol as {@link runFleet}, to be started, and perhaps
 * SIGKILLed, on the test's own schedule (an instance joining late, one dying mid-window).
 */
export function forkWorker<Report>(worker: string, args: readonly string[]): WorkerHandle<Report> {
  const child = fork(worker, args, {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  children.push(child)
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve())
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)))
  })
  ready.catch(() => {})
  const report = ready.then(
    () =>
      new Promise<Report | undefined>((resolve) => {
        child.once('message', resolve as never)
        child.once('exit', () => resolve(undefined))
      }),
    () => undefined,
  )
  return {
    ready,
    go: (message: unknown = 'go') => child.send(message as never),
    report,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}
