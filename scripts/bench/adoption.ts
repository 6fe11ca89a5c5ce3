/**
 * What a new user pays to adopt Diana, side by side with express-rate-limit in the same run:
 * packages and bytes installed next to `express`, the cold import cost of the Express entry,
 * and what Diana adds to an esbuild bundle of a memory-only Express app (which must still limit).
 *
 *   npx tsx scripts/bench/adoption.ts [--rounds 15] [--tarball diana-limiter-x.y.z.tgz] [--json]
 *
 * Import costs are whole processes, the contenders alternated round by round so that a noisy
 * neighbour hurts both alike; each figure is a median minus the median of `node -e 0`.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '15' },
    tarball: { type: 'string' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
})
const rounds = Number(args.rounds)
const root = resolve(import.meta.dirname, '../..')
const work = mkdtempSync(join(tmpdir(), 'diana-adoption-'))

function run(command: string, argv: string[], cwd: string): string {
  return execFileSync(command, argv, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function packTarball(): string {
  if (args.tarball) return resolve(args.tarball)
  const name = run('npm', ['pack', '--silent', '--pack-destination', work], root).trim().split('\n').pop()
  return join(work, name as string)
}

function project(name: string, dependencies: string[]): string {
  const dir = join(work, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }))
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...dependencies], dir)
  return dir
}

/** Installed packages, from the lockfile npm wrote (every node_modules entry, nested ones too). */
function packageCount(dir: string): number {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, unknown>
  }
  return Object.keys(lock.packages).filter((path) => path.includes('node_modules/')).length
}

function bytesUnder(dir: string): number {
  return Number(run('du', ['-sb', join(dir, 'node_modules')], dir).split('\t')[0])
}

function timeProcess(cwd: string, code: string): number {
  const started = process.hrtime.bigint()
  execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd, stdio: 'ignore' })
  return Number(process.hrtime.bigint() - started) / 1e6
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const EXPRESS_APP = `import express from 'express'
const app = express()
app.get('/', (_req, res) => { res.send('ok') })
const server = app.listen(0, '127.0.0.1', () => console.log(server.address().port))
`
const DIANA_APP = `import express from 'express'
import { diana } from 'diana-limiter/express'
const app = express()
app.use(diana({ rules: [{ name: 'ip', dimension: 'device', algorithm: 'fixed-window', limit: 3, window: '1m' }] }))
app.get('/', (_req, res) => { res.send('ok') })
const server = app.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

function bundle(dir: string, source: string, out: string): number {
  writeFileSync(join(dir, `${out}.mjs`), source)
  const esbuild = join(root, 'node_modules', '.bin', 'esbuild')
  run(
    esbuild,
    [
      `${out}.mjs`,
      '--bundle',
      '--platform=node',
      '--format=esm',
      '--minify',
      `--outfile=${out}.bundle.mjs`,
      // express (CJS) calls require() on Node built-ins; an ESM bundle needs a require to do so.
      "--banner:js=import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    ],
    dir,
  )
  return statSync(join(dir, `${out}.bundle.mjs`)).size
}

/** Starts the bundled app and sends 5 requests: a working limit answers 200, 200, 200, 429, 429. */
async function statusesOfBundledApp(dir: string, file: string): Promise<number[]> {
  const child = spawn(process.execPath, [file], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const port = await new Promise<number>((resolvePort, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolvePort(Number(chunk.toString().trim())))
      child.once('exit', () => reject(new Error('bundled app exited')))
      setTimeout(() => reject(new Error('bundled app did not start in 10 s')), 10_000).unref()
    })
    const statuses: number[] = []
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`http://127.0.0.1:${port}/`)).status)
    return statuses
  } finally {
    child.kill()
  }
}

async function main(): Promise<void> {
  const tarball = packTarball()
  const expressOnly = project('express-only', ['express'])
  const withDiana = project('with-diana', ['express', tarball])
  const withPeer = project('with-express-rate-limit', ['express', 'express-rate-limit'])

  const baseline: number[] = []
  const diana: number[] = []
  const peer: number[] = []
  for (let i = 0; i < rounds; i++) {
    baseline.push(timeProcess(withDiana, '0'))
    diana.push(timeProcess(withDiana, "await import('diana-limiter/express')"))
    peer.push(timeProcess(withPeer, "await import('express-rate-limit')"))
  }
  const base = median(baseline)
  const dianaMs = median(diana) - base
  const peerMs = median(peer) - base

  const expressBundle = bundle(withDiana, EXPRESS_APP, 'express-app')
  let dianaBundle = Number.NaN
  let statuses: Array<number | string> = []
  try {
    dianaBundle = bundle(withDiana, DIANA_APP, 'diana-app')
    statuses = await statusesOfBundledApp(withDiana, 'diana-app.bundle.mjs')
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error)
    statuses = [
      `bundle failed: ${stderr.split('\n').find((line) => line.includes('ERROR')) ?? stderr.slice(0, 200)}`,
    ]
  }

  const result = {
    packages: {
      expressAlone: packageCount(expressOnly),
      withDiana: packageCount(withDiana),
      added: packageCount(withDiana) - packageCount(expressOnly),
      addedByExpressRateLimit: packageCount(withPeer) - packageCount(expressOnly),
    },
    installedBytes: { expressAlone: bytesUnder(expressOnly), withDiana: bytesUnder(withDiana) },
    coldImportMs: { baseline: base, diana: dianaMs, expressRateLimit: peerMs, ratio: dianaMs / peerMs },
    bundleBytes: {
      expressApp: expressBundle,
      dianaApp: dianaBundle,
      addedByDiana: dianaBundle - expressBundle,
    },
    bundledAppStatuses: statuses,
  }
  if (args.json) {
    console.log(JSON.stringify(result))
  } else {
    const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`
    console.log(
      `packages: express alone ${result.packages.expressAlone}, with Diana ${result.packages.withDiana} (+${result.packages.added}; express-rate-limit adds ${result.packages.addedByExpressRateLimit})`,
    )
    console.log(
      `installed: express alone ${kb(result.installedBytes.expressAlone)}, with Diana ${kb(result.installedBytes.withDiana)}`,
    )
    console.log(
      `cold import over node -e 0 (${base.toFixed(1)} ms), medians of ${rounds}: diana-limiter/express ${dianaMs.toFixed(1)} ms, express-rate-limit ${peerMs.toFixed(1)} ms, ratio ${result.coldImportMs.ratio.toFixed(2)}`,
    )
    console.log(
      `esbuild bundle: express app ${kb(expressBundle)}, with Diana ${kb(dianaBundle)} (+${kb(result.bundleBytes.addedByDiana)})`,
    )
    console.log(`bundled app, 5 requests against a limit of 3: ${statuses.join(' ')}`)
  }
}

try {
  await main()
} finally {
  if (!args.keep) rmSync(work, { recursive: true, force: true })
}
