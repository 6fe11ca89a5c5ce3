import { importOptional, interop } from '../optional-module'

interface InfoClient {
  info(section: string): Promise<string>
  quit(): Promise<unknown>
  disconnect(): void
}
type InfoClientClass = new (url: string, options: Record<string, unknown>) => InfoClient

/** Commands a Redis has run, from its own counters (INFO commandstats). */
export interface CallCounts {
  /** Every command of every client, those a script runs included, except INFO (this reader's). */
  all: number
  /** Script calls: EVAL, EVALSHA, FCALL and their read-only forms. */
  scripts: number
}

/** Reads how many commands the bench's Redis has run. */
export interface RedisCalls {
  total(): Promise<CallCounts>
  /** CPU time the Redis server has used (INFO cpu: used_cpu_user + used_cpu_sys), µs. */
  cpuUs(): Promise<number>
  close(): Promise<void>
}

export async function redisCalls(url: string): Promise<RedisCalls> {
  const Redis = interop(
    await importOptional<InfoClientClass | { default: InfoClientClass }>('ioredis', 'diana bench lease'),
  )
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2000 })
  try {
    await client.info('server')
  } catch (error) {
    client.disconnect()
    throw new Error(`could not reach Redis at ${url}: ${(error as Error).message}`)
  }
  return {
    total: async () => countCalls(await client.info('commandstats')),
    cpuUs: async () => cpuOf(await client.info('cpu')),
    close: async () => {
      await client.quit().catch(() => client.disconnect())
    },
  }
}

const SCRIPT_COMMANDS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro'])

/** Sums `calls=` over the lines of `INFO commandstats`. */
export function countCalls(commandstats: string): CallCounts {
  let all = 0
  let scripts = 0
  for (const [, name, calls] of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (name === 'info') continue
    all += Number(calls)
    if (SCRIPT_COMMANDS.has(name as string)) scripts += Number(calls)
  }
  return { all, scripts }
}

/** used_cpu_user + used_cpu_sys of `INFO cpu` (seconds with decimals), µs; NaN if absent. */
export function cpuOf(info: string): number {
  const user = /^used_cpu_user:([\d.]+)/m.exec(info)?.[1]
  const sys = /^used_cpu_sys:([\d.]+)/m.exec(info)?.[1]
  if (user === undefined || sys === undefined) return Number.NaN
  return (Number(user) + Number(sys)) * 1e6
}
