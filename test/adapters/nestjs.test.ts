import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  Controller,
  type ExceptionFilter,
  type ExecutionContext,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Module,
  Post,
  UseGuards,
} from '@nestjs/common'
import { APP_FILTER, APP_GUARD, NestFactory } from '@nestjs/core'
import { describe, expect, it } from 'vitest'
import {
  DIANA_LIMITER,
  DianaGuard,
  DianaModule,
  RateLimit,
  RateLimitExceededException,
  SkipRateLimit,
} from '../../adapters/nestjs'
import type { Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { fakeClock, limitHeaders, send } from './support/http'
import { PLATFORMS, startsNestApps } from './support/nest-app'

// What the conformance suite (test/adapters/conformance.test.ts) cannot ask of the other
// frameworks: Nest's module, decorators, guard order, exception filters and injection.

const perDevice = (limit: number, window = '1m'): Rule => ({
  name: 'device',
  dimension: 'device',
  algorithm: 'fixed-window',
  limit,
  window,
})

type Req = { headers: Record<string, string | undefined>; user?: { id: string } }

describe.each(PLATFORMS)('NestJS 12 on %s', (platform) => {
  const start = startsNestApps()

  it('@RateLimit rules and the module rules are decided together, all or nothing', async () => {
    const clock = fakeClock()
    @Controller()
    @UseGuards(DianaGuard)
    class Api {
      @Get('items')
      items() {
        return 'item'
      }

      @Post('login')
      @HttpCode(200)
      @RateLimit([{ name: 'login', dimension: 'device', algorithm: 'fixed-window', limit: 2, window: '1h' }])
      login() {
        return 'welcome'
      }
    }
    @Module({
      imports: [DianaModule.forRoot({ rules: [perDevice(3)], clock: clock.now })],
      controllers: [Api],
    })
    class App {}
    const { url } = await start(App, platform)
    const login = () => send(`${url}/login`, { method: 'POST' })
    for (let i = 0; i < 3; i++) expect((await send(`${url}/items`)).status).toBe(200)
    // The module's device rule (shared with /items) is spent: denied by it, and the login rule
    // takes nothing for the denied request.
    const first = await login()
    expect([first.status, JSON.parse(first.body).rule]).toEqual([429, 'device'])
    clock.advance(60_000)
    const allowed = await login()
    expect([allowed.status, allowed.headers.get('ratelimit-policy')]).toEqual([200, '"login";q=2;w=3600'])
    expect((await login()).status).toBe(200)
    const denied = await login()
    expect([denied.status, JSON.parse(denied.body).rule]).toEqual([429, 'login'])
    // Two logins counted against the module's rule too: one unit left on /items.
    expect((await send(`${url}/items`)).headers.get('ratelimit')).toBe('"device";r=0;t=60')
  })

  it('a @RateLimit rule named like a module rule replaces it on that route', async () => {
    @Controller()
    @UseGuards(DianaGuard)
    class Api {
      @Get('items')
      items() {
        return 'item'
      }

      @Get('bulk')
      @RateLimit([perDevice(10)])
      bulk() {
        return 'bulk'
      }
    }
    @Module({
      imports: [DianaModule.forRoot({ rules: [perDevice(1)], clock: fakeClock().now })],
      controllers: [Api],
    })
    class App {}
    const { url } = await start(App, platform)
    const bulk = await send(`${url}/bulk`)
    expect([bulk.status, bulk.headers.get('ratelimit')]).toEqual([200, '"device";r=9;t=60'])
    expect((await send(`${url}/bulk`)).status).toBe(200)
    expect((await send(`${url}/items`)).status).toBe(200)
    expect((await send(`${url}/items`)).status).toBe(429)
  })

  it('@SkipRateLimit exempts a controller; @SkipRateLimit(false) limits one of its handlers again', async () => {
    @Controller()
    @SkipRateLimit()
    class Api {
      @Get('free')
      free() {
        return 'free'
      }

      @Get('paid')
      @SkipRateLimit(false)
      paid() {
        return 'paid'
      }
    }
    @Module({
      imports: [DianaModule.forRoot({ rules: [perDevice(1)], clock: fakeClock().now })],
      controllers: [Api],
      providers: [{ provide: APP_GUARD, useClass: DianaGuard }],
    })
    class App {}
    const { url } = await start(App, platform)
    for (let i = 0; i < 3; i++) {
      const free = await send(`${url}/free`)
      expect([free.status, limitHeaders(free)]).toEqual([200, {}])
    }
    expect((await send(`${url}/paid`)).status).toBe(200)
    expect((await send(`${url}/paid`)).status).toBe(429)
  })

  it('identify reads the user an authentication guard put on the request before it', async () => {
    @Injectable()
    class AuthGuard implements CanActivate {
      canActivate(context: ExecutionContext) {
        const req = context.switchToHttp().getRequest<Req>()
        const token = req.headers.authorization
        if (token?.startsWith('Bearer ')) req.user = { id: token.slice(7) }
        return true
      }
    }
    @Controller()
    class Api {
      @Get('me')
      me() {
        return 'me'
      }
    }
    const account: Rule = {
      name: 'account',
      dimension: 'account',
      algorithm: 'fixed-window',
      limit: 1,
      window: '1m',
    }
    @Module({
      imports: [
        DianaModule.forRoot({
          rules: [account],
          clock: fakeClock().now,
          identify: (req: Req) => req.user?.id,
        }),
      ],
      controllers: [Api],
      // Global guards run in the order they are provided: authentication first.
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_GUARD, useClass: DianaGuard },
      ],
    })
    class App {}
    const { url } = await start(App, platform)
    const as = (user: string) => send(`${url}/me`, { headers: { authorization: `Bearer ${user}` } })
    expect((await as('alice')).status).toBe(200)
    expect((await as('alice')).status).toBe(429)
    expect((await as('bob')).status).toBe(200)
    // Anonymous: no account, so the account rule does not apply.
    expect(limitHeaders(await send(`${url}/me`))).toEqual({})
  })

  it('an exception filter catches RateLimitExceededException with the decision; headers stay', async () => {
    @Catch(RateLimitExceededException)
    class TooMany implements ExceptionFilter {
      catch(exception: RateLimitExceededException, host: ArgumentsHost) {
        const res = host.switchToHttp().getResponse()
        const body = JSON.stringify({
          error: 'slow down',
          rule: exception.getResponse().rule,
          retryInMs: exception.decision?.retryAfterMs,
          status: exception.getStatus(),
        })
        // Express's response and Fastify's reply both have status/header/send.
        res.status(429).header('content-type', 'application/json').send(body)
      }
    }
    @Controller()
    class Api {
      @Get('items')
      items() {
        return 'item'
      }
    }
    @Module({
      imports: [DianaModule.forRoot({ rules: [perDevice(1)], clock: fakeClock().now })],
      controllers: [Api],
      providers: [
        { provide: APP_GUARD, useClass: DianaGuard },
        { provide: APP_FILTER, useClass: TooMany },
      ],
    })
    class App {}
    const { url } = await start(App, platform)
    await send(`${url}/items`)
    const denied = await send(`${url}/items`)
    expect(denied.status).toBe(429)
    expect(denied.headers.get('content-type')).toMatch(/^application\/json/)
    expect(JSON.parse(denied.body)).toEqual({
      error: 'slow down',
      rule: 'device',
      retryInMs: 60_000,
      status: 429,
    })
    expect(limitHeaders(denied)).toEqual({
      'ratelimit-policy': '"device";q=1;w=60',
      ratelimit: '"device";r=0;t=60',
      'retry-after': '60',
    })
  })

  it('forRootAsync builds the options from injected providers; DIANA_LIMITER is injectable', async () => {
    const CONFIG = 'CONFIG'
    @Module({ providers: [{ provide: CONFIG, useValue: { get: () => 2 } }], exports: [CONFIG] })
    class ConfigModule {}
    @Controller()
    @UseGuards(DianaGuard)
    class Api {
      constructor(readonly limiter: Limiter) {}

      @Get('items')
      items() {
        return this.limiter.rules.map((rule) => `${rule.name}:${rule.limit}`).join(',')
      }
    }
    Inject(DIANA_LIMITER)(Api, undefined as unknown as string, 0)
    @Module({
      imports: [
        DianaModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: async (config: { get(key: string): number }) => ({
            rules: [perDevice(config.get('limit'))],
            clock: fakeClock().now,
          }),
        }),
      ],
      controllers: [Api],
    })
    class App {}
    const { url } = await start(App, platform)
    const first = await send(`${url}/items`)
    expect([first.status, first.body]).toEqual([200, 'device:2'])
    expect((await send(`${url}/items`)).status).toBe(200)
    expect((await send(`${url}/items`)).status).toBe(429)
  })

  it('counts a request once when the guard is both global and on the controller', async () => {
    @Controller()
    @UseGuards(DianaGuard)
    class Api {
      @Get('items')
      items() {
        return 'item'
      }
    }
    @Module({
      imports: [DianaModule.forRoot({ rules: [perDevice(2)], clock: fakeClock().now })],
      controllers: [Api],
      providers: [{ provide: APP_GUARD, useClass: DianaGuard }],
    })
    class App {}
    const { url } = await start(App, platform)
    expect((await send(`${url}/items`)).headers.get('ratelimit')).toBe('"device";r=1;t=60')
    expect((await send(`${url}/items`)).headers.get('ratelimit')).toBe('"device";r=0;t=60')
  })

  it('a reload of the config file reaches @RateLimit routes too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'diana-nest-'))
    const config = join(dir, 'diana.yaml')
    const file = (limit: number) =>
      `version: 1\nrules:\n  - { name: device, dimension: device, algorithm: fixed-window, limit: ${limit}, window: 1m }\n`
    await writeFile(config, file(5))
    @Controller()
    @UseGuards(DianaGuard)
    class Api {
      @Get('extra')
      @RateLimit([
        { name: 'extra', dimension: 'device', algorithm: 'fixed-window', limit: 100, window: '1h' },
      ])
      extra() {
        return 'extra'
      }
    }
    @Module({ imports: [DianaModule.forRoot({ config, clock: fakeClock().now })], controllers: [Api] })
    class App {}
    try {
      const { url, app } = await start(App, platform)
      const limiter = app.get<Limiter>(DIANA_LIMITER)
      expect((await send(`${url}/extra`, { headers: { 'x-device-id': 'a' } })).headers.get('ratelimit')).toBe(
        '"device";r=4;t=60',
      )
      const reloaded = new Promise((resolve) => limiter.once('config', resolve))
      await writeFile(config, file(50))
      await reloaded
      // The new module rule is a new definition: its counter starts afresh, on this route too.
      const after = await send(`${url}/extra`, { headers: { 'x-device-id': 'a' } })
      expect(after.headers.get('ratelimit-policy')).toBe('"device";q=50;w=60')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it("DIANA_LIMITER's decision and denied listeners (metrics, dashboard) hear @RateLimit routes too", async () => {
    @Controller()
    @UseGuards(DianaGuard)
    class Api {
      @Get('plain')
      plain() {
        return 'plain'
      }

      @Post('login')
      @HttpCode(200)
      @RateLimit([{ name: 'login', dimension: 'device', algorithm: 'fixed-window', limit: 1, window: '1h' }])
      login() {
        return 'welcome'
      }
    }
    @Module({
      imports: [DianaModule.forRoot({ rules: [perDevice(100)], clock: fakeClock().now })],
      controllers: [Api],
    })
    class App {}
    const { url, app } = await start(App, platform)
    const limiter = app.get<Limiter>(DIANA_LIMITER)
    const decided: string[] = []
    const denied: string[] = []
    limiter.on('decision', (decision) => decided.push(decision.rule ?? ''))
    limiter.on('denied', (decision) => denied.push(decision.rule ?? ''))
    await send(`${url}/plain`)
    expect((await send(`${url}/login`, { method: 'POST' })).status).toBe(200)
    expect((await send(`${url}/login`, { method: 'POST' })).status).toBe(429)
    // A brute force on the login route is what metrics must show: both of its checks are heard.
    expect(decided).toHaveLength(3)
    expect(denied).toEqual(['login'])
    // Once nobody listens, route checks report nothing (no cost of events nobody reads).
    limiter.removeAllListeners('decision')
    limiter.removeAllListeners('denied')
    const later: string[] = []
    await send(`${url}/login`, { method: 'POST' })
    limiter.on('denied', (decision) => later.push(decision.rule ?? ''))
    await send(`${url}/login`, { method: 'POST' })
    expect(later).toEqual(['login'])
  })

  it('a bad option stops the app at startup with a message naming it', async () => {
    @Module({ imports: [DianaModule.forRoot({ rules: [perDevice(1)], identfy: () => 'x' } as never)] })
    class App {}
    await expect(NestFactory.create(App, { logger: false, abortOnError: false })).rejects.toThrow(
      /unknown option "identfy".*identify/,
    )
  })
})

describe('diana-limiter/nestjs decorators', () => {
  it('@RateLimit checks its rules when the class is defined', () => {
    expect(() => RateLimit([{ ...perDevice(1), algorithm: 'fixed-windw' }])).toThrow(
      /@RateLimit: .*fixed-windw.*fixed-window/,
    )
    expect(() => RateLimit([])).toThrow(/non-empty list of rules/)
    expect(() => RateLimit([perDevice(1)], { inherits: false } as never)).toThrow(/unknown option "inherits"/)
  })

  it('DianaModule.forRootAsync without a factory says what it expects', () => {
    expect(() => DianaModule.forRootAsync({} as never)).toThrow(/expects \{ useFactory/)
    expect(() => DianaModule.forRootAsync({ useFactory: () => ({ rules: [] }), rules: [] } as never)).toThrow(
      /unknown option "rules"/,
    )
  })
})
