import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SERVE_FLOOR_COMMAND } from './options'

const START_LIMIT_MS = 20_000

/** A `diana serve` child process of the benchmark, as a user runs it. */
export interface ServeChild {
  /** Where its gRPC service listens, HOST:PORT. */
  grpcAddress: string
  /** The process id, to profile or watch it. */
  pid: number
  stop(): Promise<void>
}

/**
 * Starts this same CLI as `diana serve --config FILE --http 127.0.0.1:0 --grpc 127.0.0.1:0`
 * with `config` written to a throwaway file, and waits for the line saying where it listens.
 */
export async function startServe(config: string): Promise<ServeChild> {
  const dir = mkdtempSync(join(tmpdir(), 'diana-bench-serve-'))
  const file = join(dir, 'diana.yaml')
  writeFileSync(file, config)
  return startChild(['serve', '--config', file, '--http', '127.0.0.1:0', '--grpc', '127.0.0.1:0'], () =>
    rmSync(dir, { recursive: true, force: true }),
  )
}

/** Starts the floor (bench/serve/floor-server.ts): gRPC with no limiter behind it. */
export function startFloor(): Promise<ServeChild> {
  return startChild(['bench', SERVE_FLOOR_COMMAND], () => {})
}

async function startChild(args: string[], cleanup: () => void): Promise<ServeChild> {
  const entry = process.argv[1]
  if (!entry) throw new Error('cannot tell which script to start diana serve with')
  const child = spawn(process.execPath, [...process.execArgv, entry, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  try {
    const grpcAddress = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${args[0]} did not start: ${output}`)), START_LIMIT_MS)
      const read = (chunk: Buffer) => {
        output += chunk.toString()
        const found = /grpc on ([^\s,]+)/.exec(output)
        if (found) {
          clearTimeout(timer)
          resolve(found[1] as string)
        }
      }
      child.stdout.on('data', read)
      child.stderr.on('data', read)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`${args.join(' ')} exited with ${code}: ${output.trim()}`))
      })
    })
    child.removeAllListeners('exit')
    // Keep draining its output, so a chatty server never blocks on a full pipe.
    child.stdout.removeAllListeners('data').resume()
    child.stderr.removeAllListeners('data').resume()
    return { grpcAddress, pid: child.pid as number, stop: () => stop(child).finally(cleanup) }
  } catch (error) {
    child.kill('SIGKILL')
    cleanup()
    throw error
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill('SIGTERM')
  })
}
