/**
 * A real `nginx` (the Debian package's /usr/sbin/nginx) for the gateway tests: each instance in
 * its own temp directory with its own config, pid file, logs and temp paths, on a free loopback
 * port, in the foreground (`daemon off`) as a child of the test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe } from 'vitest'
import { freePort } from './redis-server'

const CANDIDATES = ['/usr/sbin/nginx', 'nginx']

/** The nginx binary with the auth_request module, or undefined. */
export const nginxBinary: string | undefined = CANDIDATES.find((candidate) =>
  versionText(candidate).includes('--with-http_auth_request_module'),
)

/** What `nginx -V` prints (on stderr), or '' when there is no such binary. */
function versionText(binary: string): string {
  const run = spawnSync(binary, ['-V'], { encoding: 'utf8' })
  return run.error ? '' : `${run.stdout}${run.stderr}`
}

/**
 * `describe` when nginx is installed; otherwise a loud skip, or a failure when
 * DIANA_REQUIRE_NGINX=1 (CI must not pass by skipping), as describeRedis does for Redis.
 */
export function describeNginx(name: string, body: () => void): void {
  if (nginxBinary !== undefined) {
    describe.sequential(name, body)
    return
  }
  if (process.env.DIANA_REQUIRE_NGINX === '1') {
    throw new Error(
      `${name}: nginx (with auth_request) is not installed, and DIANA_REQUIRE_NGINX=1 requires it`,
    )
  }
  console.warn(`SKIPPED "${name}": nginx is not installed (install the nginx package to run it)`)
  describe.skip(name, body)
}

export class NginxProcess {
  readonly port: number
  readonly dir: string
  readonly #child: ChildProcess

  private constructor(port: number, dir: string, child: ChildProcess) {
    this.port = port
    this.dir = dir
    this.#child = child
  }

  /**
   * Starts nginx with `http` as the body of its `http { }` block; `PORT` in it is replaced by
   * the port nginx listens on, `DIR` by its directory.
   */
  static async start(http: string): Promise<NginxProcess> {
    if (nginxBinary === undefined) throw new Error('nginx is not installed')
    const dir = mkdtempSync(join(tmpdir(), 'diana-nginx-'))
    mkdirSync(join(dir, 'tmp'))
    const port = await freePort()
    const config = [
      'daemon off;',
      'master_process off;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (kind) => `  ${kind}_temp_path ${dir}/tmp/${kind};`,
      ),
      http.replaceAll('PORT', String(port)).replaceAll('DIR', dir),
      '}',
      '',
    ].join('\n')
    const file = join(dir, 'nginx.conf')
    writeFileSync(file, config)
    // -e: the error log from the start, before the config is read (the default path may not be writable).
    const child = spawn(nginxBinary, ['-p', dir, '-c', file, '-e', join(dir, 'error.log')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const nginx = new NginxProcess(port, dir, child)
    const deadline = Date.now() + 10_000
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const log = existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : ''
        await nginx.stop()
        throw new Error(`nginx did not start: ${stderr}${log}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return nginx
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  errorLog(): string {
    const file = join(this.dir, 'error.log')
    return existsSync(file) ? readFileSync(file, 'utf8') : ''
  }

  async stop(): Promise<void> {
    const child = this.#child
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      // QUIT: nginx's graceful stop; the test has no request in flight by now.
      child.kill('SIGQUIT')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
