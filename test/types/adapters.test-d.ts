/**
 * The adapter entry points' types as a user meets them: `diana-limiter/express`, `/koa`,
 * `/hono`, `/fastify` and `/nestjs` from this package's own build. Checked by `vitest run` (typecheck) and
 * `tsc --noEmit`; nothing here runs.
 */

import type { CanActivate, DynamicModule, HttpException } from '@nestjs/common'
import { createLimiter, type Decision, type Limiter, type Rule } from 'diana-limiter'
import { type DianaExpressOptions, diana as express } from 'diana-limiter/express'
import fastifyPlugin, { type DianaFastifyOptions, type DianaRouteConfig } from 'diana-limiter/fastify'
import { type DianaHonoOptions, type DianaVariables, diana as hono } from 'diana-limiter/hono'
import { type DianaKoaOptions, diana as koa } from 'diana-limiter/koa'
import {
  type DianaGuard,
  DianaModule,
  RateLimit,
  type RateLimitExceededException,
  type RateLimitProblem,
  SkipRateLimit,
} from 'diana-limiter/nestjs'
import type { Request, RequestHandler } from 'express'
import Fastify, { type FastifyRequest } from 'fastify'
import { Hono, type Context as HonoContext, type MiddlewareHandler } from 'hono'
import type { Context, Middleware } from 'koa'
import { describe, expectTypeOf, it } from 'vitest'

const rules: Rule[] = [
  { name: 'api', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1s' },
]

describe('diana-limiter/express', () => {
  it('diana(options) is Express middleware', () => {
    expectTypeOf(express).parameter(0).toEqualTypeOf<DianaExpressOptions>()
    expectTypeOf(express({ rules })).toExtend<RequestHandler>()
  })

  it('takes the limiter options or a built limiter, plus hooks typed by the request', () => {
    expectTypeOf({ limiter: createLimiter({ rules }) }).toExtend<DianaExpressOptions>()
    express({
      config: 'diana.yaml',
      identify: (req) => {
        expectTypeOf(req).toEqualTypeOf<Request>()
        return req.get('x-user')
      },
      skip: (req) => req.path === '/healthz',
      response: { status: 503, headers: 'both' },
    })
    // @ts-expect-error the status of a denial is 429 or 503
    express({ rules, response: { status: 500 } })
    // @ts-expect-error identify answers an account id, not a number
    express({ rules, identify: () => 42 })
  })

  it('puts the decision on req.rateLimit', () => {
    expectTypeOf<Request['rateLimit']>().toEqualTypeOf<Decision | undefined>()
  })
})

describe('diana-limiter/koa', () => {
  it('diana(options) is Koa middleware, with the decision on ctx.state.rateLimit', () => {
    expectTypeOf(koa).parameter(0).toEqualTypeOf<DianaKoaOptions>()
    expectTypeOf(koa({ rules })).toExtend<Middleware>()
    koa({ rules, identify: (ctx) => ctx.get('x-user') })
    expectTypeOf<Context['state']['rateLimit']>().toEqualTypeOf<Decision | undefined>()
    // @ts-expect-error skip answers a boolean
    koa({ rules, skip: () => 'yes' })
  })
})

describe('diana-limiter/hono', () => {
  it("diana(options) is Hono middleware, with the decision at c.get('rateLimit')", () => {
    expectTypeOf(hono).parameter(0).toEqualTypeOf<DianaHonoOptions>()
    expectTypeOf(hono({ rules })).toExtend<MiddlewareHandler>()
    const app = new Hono<{ Variables: DianaVariables }>()
    app.use(
      hono({
        rules,
        connInfo: (c) => ({ remote: { address: c.req.header('x-test') ?? '' } }),
        trustProxy: 1,
        identify: (c) => {
          expectTypeOf(c).toEqualTypeOf<HonoContext>()
          return c.req.header('x-user')
        },
        onLimited: (c, decision) => c.json({ rule: decision.rule }, 429),
      }),
    )
    app.get('/', (c) => {
      expectTypeOf(c.get('rateLimit')).toEqualTypeOf<Decision | undefined>()
      return c.text('ok')
    })
    // @ts-expect-error trustProxy is a boolean, a hop count or a function
    hono({ rules, trustProxy: 'loopback' })
    // @ts-expect-error skip answers a boolean
    hono({ rules, skip: () => 'yes' })
  })
})

describe('diana-limiter/fastify', () => {
  it('the default export is a plugin registered with its options', () => {
    const app = Fastify()
    app.register(fastifyPlugin, { rules, identify: (request) => request.headers['x-user'] as string })
    expectTypeOf({ limiter: {} as Limiter }).toExtend<DianaFastifyOptions>()
    // app.dianaLimiter is not compared with Limiter: this repository's tsc sees the source's
    // augmentation of 'fastify' as well as the build's, and a class with #private fields from
    // two declarations is two types. A user's project has only the build's.
    expectTypeOf(app.dianaLimiter.check).returns.toEqualTypeOf<Promise<Decision>>()
    expectTypeOf<FastifyRequest['rateLimit']>().toEqualTypeOf<Decision | null>()
    // @ts-expect-error the plugin takes rules as a list
    app.register(fastifyPlugin, { rules: rules[0] })
  })

  it('a route exempts itself or sets its own rules under config.diana', () => {
    expectTypeOf<false>().toExtend<DianaRouteConfig>()
    expectTypeOf({ rules }).toExtend<DianaRouteConfig>()
    const app = Fastify()
    app.get('/free', { config: { diana: false } }, async () => 'ok')
    expectTypeOf<true>().not.toExtend<DianaRouteConfig>()
  })
})

describe('diana-limiter/nestjs', () => {
  it('DianaModule.forRoot takes the adapter options and returns a dynamic module', () => {
    expectTypeOf(DianaModule.forRoot({ rules })).toExtend<DynamicModule>()
    DianaModule.forRoot({
      rules,
      global: false,
      identify: (req: { user?: { id: string } }) => req.user?.id,
      response: { status: 503 },
    })
    // @ts-expect-error the status of a denial is 429 or 503
    DianaModule.forRoot({ rules, response: { status: 500 } })
    // @ts-expect-error identify answers an account id, not a number
    DianaModule.forRoot({ rules, identify: () => 42 })
  })

  it('forRootAsync takes a factory with injected providers', () => {
    expectTypeOf(
      DianaModule.forRootAsync({
        inject: ['CONFIG'],
        useFactory: async (limit: number) => ({ rules: [{ ...rules[0]!, limit }] }),
      }),
    ).toExtend<DynamicModule>()
    // @ts-expect-error the factory makes Diana's options
    DianaModule.forRootAsync({ useFactory: () => 42 })
  })

  it('the guard, the decorators and the exception are what Nest expects', () => {
    expectTypeOf<DianaGuard>().toExtend<CanActivate>()
    expectTypeOf(RateLimit(rules)).toExtend<MethodDecorator & ClassDecorator>()
    expectTypeOf(RateLimit(rules, { inherit: false })).toExtend<MethodDecorator>()
    expectTypeOf(SkipRateLimit()).toExtend<ClassDecorator>()
    expectTypeOf<RateLimitExceededException>().toExtend<HttpException>()
    expectTypeOf<RateLimitExceededException['decision']>().toEqualTypeOf<Decision | undefined>()
    expectTypeOf<ReturnType<RateLimitExceededException['getResponse']>>().toEqualTypeOf<RateLimitProblem>()
    // @ts-expect-error @RateLimit takes a list of rules
    RateLimit(rules[0]!)
  })
})
