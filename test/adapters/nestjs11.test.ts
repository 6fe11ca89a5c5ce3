import { execFile } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'

/**
 * diana-limiter/nestjs on NestJS 11, for real: NestJS 11 is installed apart, in
 * test/adapters/nestjs11 (`npm ci --prefix test/adapters/nestjs11`, done by .ci/run), because
 * the repository's own NestJS is 12. This package's build is copied into that folder's
 * node_modules, so that `diana-limiter/nestjs` resolves @nestjs/* to version 11 there, as in an
 * app on NestJS 11; scenario.mjs runs one request sequence per platform and build (ES module
 * through `import`, CommonJS through `require`). Without the install the suite is skipped with
 * a warning, unless DIANA_REQUIRE_NEST11=1 (CI), where that is a failure.
 */
const exec = promisify(execFile)
const root = resolve(import.meta.dirname, '../..')
const fixture = join(root, 'test/adapters/nestjs11')
const installed = existsSync(join(fixture, 'node_modules/@nestjs/core/package.json'))
const required = process.env.DIANA_REQUIRE_NEST11 === '1'

if (!installed && !required) {
  console.warn(
    'test/adapters/nestjs11.test.ts: NestJS 11 is not installed, SKIPPING its tests; run `npm ci --prefix test/adapters/nestjs11`',
  )
}

const device = (r: number) => ({ policy: '"device";q=2;w=60', ratelimit: `"device";r=${r};t=60` })
const denial = (rule: string, limit: number, per: string, retryAfter: number) => ({
  type: 'tag:diana-limiter,2025:rate-limited',
  title: 'Too Many Requests',
  status: 429,
  detail: `Rate limit "${rule}" exceeded: at most ${limit} requests per ${per}. Retry in ${retryAfter} s.`,
  rule,
  limit,
  retryAfter,
})

describe.runIf(installed || required)('diana-limiter/nestjs on NestJS 11', () => {
  beforeAll(() => {
    if (!installed)
      throw new Error('DIANA_REQUIRE_NEST11=1 but NestJS 11 is not installed in test/adapters/nestjs11')
    if (!existsSync(join(root, 'dist/adapters/nestjs.js'))) throw new Error('build first: npm run build')
    const target = join(fixture, 'node_modules/diana-limiter')
    rmSync(target, { recursive: true, force: true })
    mkdirSync(target, { recursive: true })
    cpSync(join(root, 'package.json'), join(target, 'package.json'))
    cpSync(join(root, 'dist'), join(target, 'dist'), { recursive: true })
  })

  it.each([
    ['express', 'esm'],
    ['express', 'cjs'],
    ['fastify', 'esm'],
    ['fastify', 'cjs'],
  ])(
    'on %s, the %s build: the same statuses, headers and bodies as every adapter',
    async (platform, build) => {
      const { stdout } = await exec(process.execPath, ['scenario.mjs', platform, build], {
        cwd: fixture,
        timeout: 60_000,
      })
      const run = JSON.parse(stdout) as {
        nest: string
        httpException: boolean
        transcript: Record<string, unknown>[]
      }
      expect(run.nest).toMatch(/^11\./)
      expect(run.httpException).toBe(true)
      const pick = ({
        request,
        status,
        contentType,
        policy,
        ratelimit,
        retryAfter,
        body,
      }: Record<string, unknown>) => ({
        request,
        status,
        ...(status === 429 ? { contentType } : {}),
        policy,
        ratelimit,
        retryAfter,
        ...(typeof body === 'object' ? { body } : {}),
      })
      expect(run.transcript.map(pick)).toEqual([
        { request: 'GET /items/1 (a)', status: 200, ...device(1), retryAfter: null },
        { request: 'GET /items/2 (a)', status: 200, ...device(0), retryAfter: null },
        {
          request: 'GET /items/3 (a)',
          status: 429,
          contentType: 'application/problem+json',
          ...device(0),
          retryAfter: '60',
          body: denial('device', 2, '1 min', 60),
        },
        // @SkipRateLimit: no check, no headers.
        { request: 'GET /free (a)', status: 200, policy: null, ratelimit: null, retryAfter: null },
        // @RateLimit: the route's rule binds (least remaining); the module's counts too.
        {
          request: 'POST /login (b)',
          status: 200,
          policy: '"login";q=1;w=3600',
          ratelimit: '"login";r=0;t=2760',
          retryAfter: null,
        },
        {
          request: 'POST /login (b)',
          status: 429,
          contentType: 'application/problem+json',
          policy: '"login";q=1;w=3600',
          ratelimit: '"login";r=0;t=2760',
          retryAfter: '2760',
          body: denial('login', 1, '1 h', 2760),
        },
        { request: 'GET /decision (c)', status: 200, ...device(1), retryAfter: null, body: { remaining: 1 } },
      ])
    },
  )
})
