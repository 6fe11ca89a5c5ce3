/**
 * The package as users get it: packed, installed into scratch projects next to the frameworks,
 * and imported from ESM, CommonJS and TypeScript (node16 and bundler resolution). Without
 * ioredis or nacos installed, the features that need them must say which package to install.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const exec = promisify(execFile)
const root = resolve(import.meta.dirname, '../..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
const ENTRIES = [
  'diana-limiter',
  'diana-limiter/express',
  'diana-limiter/fastify',
  'diana-limiter/koa',
  'diana-limiter/hono',
  'diana-limiter/nestjs',
  'diana-limiter/metrics',
  'diana-limiter/dashboard',
]

let work: string
let tarball: string
let app: string

async function run(command: string, args: string[], cwd: string): Promise<string> {
  const { stdout } = await exec(command, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 2 ** 20 })
  return stdout
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'diana-consumer-'))
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], root)
  tarball = join(work, packed.trim().split('\n').pop() as string)
  app = join(work, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  // The frameworks and their types, but neither ioredis nor nacos: those are optional peers.
  await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      'express',
      'fastify',
      'koa',
      'hono',
      // NestJS 12 is ESM only: the CommonJS build requires it through Node's require(esm).
      '@nestjs/common@^12.5.1',
      '@nestjs/core@^12.5.1',
      'reflect-metadata',
      'rxjs',
      'prom-client',
      '@types/express',
      '@types/koa',
      '@types/node@20',
    ],
    app,
  )
}, 300_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the packed package', () => {
  it('imports every entry point from ESM', async () => {
    writeFileSync(
      join(app, 'esm.mjs'),
      `const names = ${JSON.stringify(ENTRIES)}
for (const name of names) console.log(name, Object.keys(await import(name)).sort().join(','))`,
    )
    const out = await run('node', ['esm.mjs'], app)
    expect(out).toMatch(/^diana-limiter .*createLimiter/m)
    // Exported for an application's own Lua (the flash-sale example); it must not need ioredis.
    expect(out).toMatch(/^diana-limiter .*RedisScript/m)
    expect(out).toMatch(/^diana-limiter\/express .*diana/m)
    expect(out).toMatch(/^diana-limiter\/fastify .*default/m)
    expect(out).toMatch(/^diana-limiter\/koa .*diana/m)
    expect(out).toMatch(/^diana-limiter\/hono .*diana/m)
    expect(out).toMatch(/^diana-limiter\/nestjs .*DianaGuard.*DianaModule.*RateLimit/m)
    expect(out).toMatch(/^diana-limiter\/metrics .*dianaMetrics/m)
    expect(out).toMatch(/^diana-limiter\/dashboard .*dashboard/m)
  })

  it('requires every entry point from CommonJS', async () => {
    writeFileSync(
      join(app, 'cjs.cjs'),
      `for (const name of ${JSON.stringify(ENTRIES)}) console.log(name, Object.keys(require(name)).sort().join(','))`,
    )
    const out = await run('node', ['cjs.cjs'], app)
    expect(out).toMatch(/^diana-limiter .*createLimiter/m)
    expect(out).toMatch(/^diana-limiter\/express .*diana/m)
    expect(out).toMatch(/^diana-limiter\/koa .*diana/m)
    expect(out).toMatch(/^diana-limiter\/hono .*diana/m)
    expect(out).toMatch(/^diana-limiter\/nestjs .*DianaGuard.*DianaModule.*RateLimit/m)
    expect(out).toMatch(/^diana-limiter\/metrics .*dianaMetrics/m)
    expect(out).toMatch(/^diana-limiter\/dashboard .*dashboard/m)
  })

  it.each(['import', 'require'])(
    'serves the dashboard page and uPlot from the package through %s, with no build step',
    async (how) => {
      const file = join(app, `dashboard-${how}.mjs`)
      writeFileSync(
        file,
        `import { createRequire } from 'node:module'
import { createServer } from 'node:http'
const load = (name) => ${how === 'import' ? 'import(name)' : 'createRequire(import.meta.url)(name)'}
const { createLimiter } = await load('diana-limiter')
const { dashboard } = await load('diana-limiter/dashboard')
const limiter = createLimiter({ rules: [{ name: 'a', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1m' }] })
const handler = dashboard(limiter, { token: 'consumer-token-0123456789' })
const server = createServer(handler).listen(0, '127.0.0.1', async () => {
  const url = 'http://127.0.0.1:' + server.address().port
  const out = []
  for (const path of ['/', '/assets/dashboard.js', '/assets/uPlot.iife.min.js', '/assets/uPlot.min.css', '/api/state']) {
    const res = await fetch(url + path)
    out.push(path + ' ' + res.status + ' ' + (await res.text()).length)
  }
  console.log(out.join('\\n'))
  handler.close()
  server.close()
  await limiter.close()
})`,
      )
      const out = await run('node', [file], app)
      expect(out).toMatch(/^\/ 200 [1-9]/m)
      expect(out).toMatch(/^\/assets\/dashboard\.js 200 [1-9]/m)
      expect(out).toMatch(/^\/assets\/uPlot\.iife\.min\.js 200 [1-9]\d{4}/m)
      expect(out).toMatch(/^\/assets\/uPlot\.min\.css 200 [1-9]/m)
      expect(out).toMatch(/^\/api\/state 401/m)
      // uPlot's MIT licence travels with its files.
      const licence = readFileSync(
        join(app, 'node_modules/diana-limiter/dist/dashboard/uPlot.LICENSE'),
        'utf8',
      )
      expect(licence).toContain('MIT')
    },
  )

  it.each(['node16', 'bundler'])(
    'type-checks strict TypeScript with moduleResolution %s',
    async (resolution) => {
      const dir = join(app, `ts-${resolution}`)
      mkdirSync(dir, { recursive: true })
      const module = resolution === 'node16' ? 'node16' : 'esnext'
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module,
            moduleResolution: resolution,
            target: 'es2022',
            types: ['node'],
            skipLibCheck: true,
          },
          files: ['index.mts'],
        }),
      )
      writeFileSync(
        join(dir, 'index.mts'),
        `import { createLimiter, type Decision, type Rule } from 'diana-limiter'
import { diana } from 'diana-limiter/express'
import dianaFastify from 'diana-limiter/fastify'
import { diana as dianaKoa } from 'diana-limiter/koa'
import { diana as dianaHono } from 'diana-limiter/hono'
import { dianaMetrics } from 'diana-limiter/metrics'
import { dashboard } from 'diana-limiter/dashboard'
import { DianaModule, RateLimit } from 'diana-limiter/nestjs'
import express from 'express'
import { Hono } from 'hono'

const rules: Rule[] = [{ name: 'per-account', dimension: 'account', algorithm: 'sliding-window', limit: 3, window: '1m' }]
const limiter = createLimiter({ rules })
const decision: Decision = await limiter.check({ account: 'alice' })
const remaining: number = decision.remaining
const app = express()
app.use('/ops', dashboard(limiter, { token: 'consumer-token-0123456789', allowEdits: false }))
app.use(diana({ limiter, identify: (req) => req.get('x-account') }))
const web = new Hono()
web.use(dianaHono({ limiter, identify: (c) => c.req.header('x-account') }))
web.get('/', (c) => c.text(String(c.get('rateLimit')?.remaining)))
const nest = DianaModule.forRoot({ rules, identify: (req: { user?: { id: string } }) => req.user?.id })
void [remaining, dianaFastify, dianaKoa, dianaMetrics, nest, RateLimit]
`,
      )
      // The root's TypeScript, type roots and packages from the scratch project. skipLibCheck as
      // `tsc --init` sets it: @types/koa itself fails a full check against content-disposition's types.
      await expect(run(bin('tsc'), ['-p', dir], app)).resolves.toBe('')
    },
  )

  it('names the package to install when the Redis store or a Nacos source is used without it', async () => {
    writeFileSync(
      join(app, 'nacos.yaml'),
      `version: 1\nremote: { nacos: { serverAddr: 127.0.0.1:1, dataId: rules.yaml } }\nrules: []\n`,
    )
    writeFileSync(
      join(app, 'peers.mjs'),
      `import { createLimiter } from 'diana-limiter'
const rules = [{ name: 'a', dimension: 'account', algorithm: 'fixed-window', limit: 1, window: '1s' }]
for (const options of [{ rules, store: { type: 'redis' } }, { config: 'nacos.yaml', watch: false }]) {
  try { createLimiter(options); console.log('created') } catch (error) { console.log(error.message) }
}`,
    )
    const out = (await run('node', ['peers.mjs'], app)).trim().split('\n')
    expect(out[0]).toMatch(/Redis store needs the "ioredis" package.*npm install ioredis/)
    expect(out[1]).toMatch(/Nacos .* needs the "nacos" package.*npm install nacos/)
  })

  it.each(['import', 'require'])('reloads a config file off the event loop through %s', async (how) => {
    const file = join(app, `reload-${how}.yaml`)
    const rule = (limit: number) =>
      `version: 1\nrules:\n  - { name: a, dimension: account, algorithm: fixed-window, limit: ${limit}, window: 1m }\n`
    writeFileSync(file, rule(1))
    writeFileSync(
      join(app, `reload-${how}.mjs`),
      `import { createRequire } from 'node:module'
import { writeFileSync } from 'node:fs'
const { createLimiter } = ${how === 'import' ? "await import('diana-limiter')" : "createRequire(import.meta.url)('diana-limiter')"}
const limiter = createLimiter({ config: ${JSON.stringify(file)}, logger: { warn() {}, error() {}, info() {} } })
const seen = []
limiter.on('config', () => seen.push('limit ' + limiter.rules[0].limit))
limiter.on('configError', (error) => seen.push(error.message))
const settle = () => new Promise((resolve) => setTimeout(resolve, 1500))
await settle()
writeFileSync(${JSON.stringify(file)}, ${JSON.stringify(rule(7))})
await settle()
writeFileSync(${JSON.stringify(file)}, 'version: 1\\nrules: [ {\\n')
await settle()
await limiter.close()
console.log(JSON.stringify(seen))`,
    )
    const seen = JSON.parse(await run('node', [`reload-${how}.mjs`], app)) as string[]
    expect(seen).toContain('limit 7')
    expect(seen.at(-1)).toMatch(/reload-(import|require)\.yaml:\d+:\d+: YAML syntax error/)
  })

  it('shares one registry between the ESM and CommonJS builds', async () => {
    writeFileSync(
      join(app, 'dual.mjs'),
      `import { createRequire } from 'node:module'
import { registerDimension } from 'diana-limiter'
const { createLimiter } = createRequire(import.meta.url)('diana-limiter')
registerDimension('tenant')
const limiter = createLimiter({ rules: [{ name: 't', dimension: 'tenant', algorithm: 'fixed-window', limit: 1, window: '1m' }] })
const first = await limiter.check({ tenant: 'acme' })
const second = await limiter.check({ tenant: 'acme' })
console.log(first.allowed, second.allowed)`,
    )
    expect((await run('node', ['dual.mjs'], app)).trim()).toBe('true false')
  })

  it('loads neither the command line nor the benchmarks from a library entry', () => {
    const packageDir = join(app, 'node_modules', 'diana-limiter')
    const entries = [
      'dist/src/index',
      'dist/adapters/express',
      'dist/adapters/fastify',
      'dist/adapters/koa',
      'dist/adapters/hono',
      'dist/adapters/nestjs',
      'dist/src/metrics/index',
      'dist/src/dashboard/index',
    ]
    for (const extension of ['.js', '.cjs']) {
      const loaded = new Set<string>()
      const visit = (file: string): void => {
        if (loaded.has(file)) return
        loaded.add(file)
        const text = readFileSync(join(packageDir, file), 'utf8')
        for (const [, target] of text.matchAll(/(?:from\s*|import\(|require\()["'](\.{1,2}\/[^"']+)["']/g)) {
          visit(posix.normalize(posix.join(posix.dirname(file), target as string)))
        }
      }
      for (const entry of entries) visit(entry + extension)
      // rate-limiter-flexible imported, not named: the option hints name it in their messages.
      const offenders = [...loaded].filter((file) =>
        /autocannon|(?:from\s*|import\(\s*|require\(\s*)["']rate-limiter-flexible["']|validateCommand|benchCommand/.test(
          readFileSync(join(packageDir, file), 'utf8'),
        ),
      )
      expect(loaded.size).toBeGreaterThan(entries.length)
      expect(offenders).toEqual([])
    }
  })

  it('runs `diana bench` from the application and names the diana-limiter it measures', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
    const out = await run(
      join(app, 'node_modules', '.bin', 'diana'),
      ['bench', '--duration', '0.1', '--samples', '1', '--algorithm', 'fixed-window', '--keys', '10'],
      app,
    )
    const environment = out.split('\n').find((line) => line.startsWith('Node v'))
    expect(environment).toContain(`diana-limiter ${version}`)
    expect(out).toMatch(/^fixed-window\s+memory\s+10\b/m)
  })

  it('ships every file its README and docs link to', async () => {
    const files = new Set(
      (await run('tar', ['tzf', tarball], work)).split('\n').map((path) => path.replace(/^package\//, '')),
    )
    const documents = [...files].filter((path) => path === 'README.md' || /^docs\/.*\.md$/.test(path))
    const broken: string[] = []
    for (const document of documents) {
      const text = readFileSync(join(app, 'node_modules', 'diana-limiter', document), 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue
        const path = posix.normalize(posix.join(posix.dirname(document), target as string))
        if (!files.has(path)) broken.push(`${document} -> ${target}`)
      }
    }
    expect(documents.length).toBeGreaterThan(3)
    expect(broken).toEqual([])
  })

  it('is clean for are-the-types-wrong (node16, bundler) and publint', async () => {
    await expect(
      run(bin('attw'), [tarball, '--profile', 'node16', '--format', 'ascii'], root),
    ).resolves.toBeDefined()
    const lint = await run(bin('publint'), ['run', root], root)
    expect(lint).toMatch(/All good/)
  })
})
