/**
 * Real `redis-server` processes for the tests: each on a free loopback port in its own temp
 * directory, never the shared Redis on 6379. They can be killed, stopped (a hung Redis),
 * continued and restarted on the same port, and a 3-master Cluster can be built from them.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe } from 'vitest'

const exec = promisify(execFile)

/** Whether `redis-server` and `redis-cli` are installed. */
export const redisInstalled: boolean = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    execFileSync('redis-cli', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

/**
 * `describe` when Redis is installed; otherwise a loud skip, or a failure when
 * DIANA_REQUIRE_REDIS=1 (CI must not pass by skipping).
 */
export function describeRedis(name: string, body: () => void): void {
  if (redisInstalled) {
    describe.sequential(name, body)
    return
  }
  if (process.env.DIANA_REQUIRE_REDIS === '1') {
    throw new Error(`${name}: redis-server is not installed, and DIANA_REQUIRE_REDIS=1 requires it`)
  }
  console.warn(`SKIPPED "${name}": redis-server is not installed (install redis-server to run it)`)
  describe.skip(name, body)
}

export class RedisProcess {
  readonly port: number
  readonly dir: string
  readonly #extraArgs: readonly string[]
  #child: ChildProcess | undefined

  constructor(port: number, dir: string, extraArgs: readonly string[]) {
    this.port = port
    this.dir = dir
    this.#extraArgs = extraArgs
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
        '--protected-mode',
        'no',
        ...this.#extraArgs,
      ],
      { stdio: 'ignore' },
    )
    this.#child = child
    await this.#waitFor(async () => (await this.cli('PING')) === 'PONG', 'start')
  }

  /** SIGKILL: the connection is refused until {@link restart}. */
  async kill(): Promise<void> {
    const child = this.#child
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  /** SIGSTOP: the connection stays open but nothing answers (a hung Redis). */
  pause(): void {
    this.#child?.kill('SIGSTOP')
  }

  /** SIGCONT after {@link pause}. */
  resume(): void {
    this.#child?.kill('SIGCONT')
  }

  /** Kills (if running) and starts a fresh, empty server on the same port. */
  async restart(): Promise<void> {
    await this.kill()
    await this.start()
  }

  async stop(): Promise<void> {
    this.resume()
    await this.kill()
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** Runs one redis-cli command against this server; resolves with its trimmed output. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await exec('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], {
      timeout: 5000,
    })
    return stdout.trim()
  }

  async #waitFor(ready: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        if (await ready()) return
      } catch {}
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

/** Starts one standalone server on a free port. */
export async function startRedis(): Promise<RedisProcess> {
  const server = new RedisProcess(await freePort(), mkdtempSync(join(tmpdir(), 'diana-redis-')), [])
  await server.start()
  return server
}

export interface RedisCluster {
  nodes: RedisProcess[]
  /** Seed nodes for an ioredis Cluster. */
  seeds: { host: string; port: number }[]
  stop(): Promise<void>
}

/** Starts `masters` cluster-enabled servers and joins them into a Cluster (no replicas). */
export async function startCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisProcess[] = []
  for (let i = 0; i < masters; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'diana-cluster-'))
    nodes.push(
      new RedisProcess(await freePort(true), dir, [
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
      ]),
    )
  }
  await Promise.all(nodes.map((node) => node.start()))
  await exec(
    'redis-cli',
    [
      '--cluster',
      'create',
      ...nodes.map((node) => `127.0.0.1:${node.port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ],
    { timeout: 30_000 },
  )
  const deadline = Date.now() + 20_000
  for (;;) {
    const infos = await Promise.all(nodes.map((node) => node.cli('CLUSTER', 'INFO')))
    if (infos.every((info) => info.includes('cluster_state:ok'))) break
    if (Date.now() > deadline) throw new Error('Redis Cluster did not reach cluster_state:ok')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return {
    nodes,
    seeds: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
    stop: async () => {
      await Promise.all(nodes.map((node) => node.stop()))
    },
  }
}

/**
 * A loopback port nobody listens on. Cluster nodes also need port + 10000 (the bus port),
 * so those are picked from a range where that fits, and both are checked.
 */
export async function freePort(withBus = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = withBus ? 20_000 + Math.floor(Math.random() * 30_000) : await anyPort()
    if ((await isFree(port)) && (!withBus || (await isFree(port + 10_000)))) return port
  }
  throw new Error('no free loopback port found')
}

function anyPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
