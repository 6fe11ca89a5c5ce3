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
