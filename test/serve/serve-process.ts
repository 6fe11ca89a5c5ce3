/**
 * `diana serve` as a user runs it: `node bin/diana.js serve ...` (the build in dist/) in its
 * own process, on a port the system picks, its address read from the line it prints once the
 * rules are in force.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { root } from '../cli/diana-bin'

export class ServeProcess {
  readonly child: ChildProcess
  readonly url: string
  readonly address: string
  #stdout: string
  #stderr: string

  private constructor(child: ChildProcess, address: string, out: { stdout: string; stderr: string }) {
    this.child = child
    this.address = address
    this.url = `http://${address}`
    this.#stdout = out.stdout
    this.#stderr = out.stderr
    child.stdout?.on('data', (chunk: Buffer) => {
      this.#stdout += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#stderr += chunk.toString()
    })
  }

  get stdout(): string {
    return this.#stdout
  }

  get stderr(): string {
    return this.#stderr
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  /** Starts `diana serve --config FILE --http 127.0.0.1:0 ...extra` and waits until it serves. */
  static async start(
    config: string,
    extra: string[] = [],
    env: Record<string, string> = {},
  ): Promise<ServeProcess> {
    const child = spawn(
      process.execPath,
      [`${root}bin/diana.js`, 'serve', '--config', config, '--http', '127.0.0.1:0', ...extra],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    )
    const out = { stdout: '', stderr: '' }
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL')
        reject(new Error(`diana serve did not start: ${out.stdout}${out.stderr}`))
      }, 20_000)
      child.stdout.on('data', (chunk: Buffer) => {
        out.stdout += chunk.toString()
        const found = /diana serve: http on ([^\s,]+)/.exec(out.stdout)
        if (found) {
          clearTimeout(timer)
          resolve(found[1] as string)
        }
      })
      child.stderr.on('data', (chunk: Buffer) => {
        out.stderr += chunk.toString()
      })
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`diana serve exited with ${code}: ${out.stdout}${out.stderr}`))
      })
    })
    child.removeAllListeners('exit')
    child.stdout.removeAllListeners('data')
    child.stderr.removeAllListeners('data')
    return new ServeProcess(child, address, out)
  }

  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.child
    if (!this.alive) return Promise.resolve(child.exitCode)
    return new Promise((resolve) => {
      child.once('exit', (code) => resolve(code))
      child.kill(signal)
    })
  }
}

/** A config file in a temp directory of its own; `remove` deletes the directory. */
export function writeConfig(text: string): { file: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'diana-serve-'))
  const file = join(dir, 'diana.yaml')
  writeFileSync(file, text)
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** POST /check with `body` as given (an object is sent as JSON). */
export async function postCheck(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
}
