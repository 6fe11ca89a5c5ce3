import type { AddressInfo } from 'node:net'
import {
  Controller,
  Get,
  HttpCode,
  type INestApplication,
  Module,
  Param,
  Post,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common'
import { APP_GUARD, NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import express from 'express'
import { DIANA_LIMITER, DianaGuard, DianaModule, RateLimit } from '../../../adapters/nestjs'
import type { Decision } from '../../../src/decision'
import type { Limiter } from '../../../src/limiter'
import type { Rule } from '../../../src/rules/rule'
import { thenable } from '../../support/thenable'
import type { AppSpec, Framework, RunningApp } from './apps'

/**
 * The test app of apps.ts written as a NestJS app: the same routes in controllers, the limiter
 * as `DianaModule.forRoot` with the spec's options, the hooks reading the platform's request.
 * `appWide` puts `DianaGuard` on every route as `APP_GUARD`; otherwise each controller has
 * `@UseGuards(DianaGuard)`. Either way a Nest guard runs after routing, so it sees route
 * patterns; the per-route override is `@RateLimit(rules, { inherit: false })`.
 */

// The platform's request and response: Express's or Fastify's, alike in what these hooks read.
type AnyReq = { headers: Record<string, string | string[] | undefined>; rateLimit?: Decision | null }
type AnyRes = {
  status(code: number): AnyRes
  type(type: string): AnyRes
  send(body: string): unknown
}

const forever = new Promise<never>(() => {})

function header(req: AnyReq, name: string): string | undefined {
  const value = req.headers[name]
  return (Array.isArray(value) ? value.join(', ') : value) || undefined
}

function hooks(spec: AppSpec): Record<string, unknown> {
  const hooks: Record<string, unknown> = {}
  if (spec.identifyByHeader) hooks.identify = (req: AnyReq) => header(req, 'x-account')
  if (spec.prioritizeByHeader) {
    hooks.prioritize = (req: AnyReq) => {
      const value = header(req, 'x-priority')
      if (value === 'throw') throw new Error('priority hook failed')
      return value
    }
  }
  const device = spec.identifyDeviceByHeader
  if (device) {
    hooks.identifyDevice = (req: AnyReq) => {
      const value = header(req, device.header)
      if (value === 'throw') throw new Error('device hook failed')
      return device.async ? Promise.resolve(value) : value
    }
  }
  if (spec.skipByHeader) {
    const present = (req: AnyReq) => header(req, 'x-skip') !== undefined
    hooks.skip = spec.skipByHeader === 'thenable' ? (req: AnyReq) => thenable(present(req)) : present
  }
  if (spec.customLimited) {
    hooks.onLimited = (req: AnyReq, res: AnyRes, d: Decision) =>
      res
        .status(418)
        .type('text/plain')
        .send(`slow down ${d.rule}${req.rateLimit === d ? ' (on the request)' : ''}`)
  }
  return hooks
}

/** GET /special, limited by its own rules only (the other frameworks' per-route limiter). */
function specialController(rules: Rule[], guards: (typeof DianaGuard)[], hit: (route: string) => void) {
  @Controller()
  @UseGuards(...guards)
  class SpecialController {
    @Get('special')
    @RateLimit(rules, { inherit: false })
    special(): string {
      hit('/special')
      return 'special'
    }
  }
  return SpecialController
}

/** The app module of one spec: its controllers close over the spec and the hit counter. */
function appModule(spec: AppSpec, hit: (route: string) => void): new () => unknown {
  const guards = spec.appWide ? [] : [DianaGuard]

  @Controller()
  @UseGuards(...guards)
  class MainController {
    @Get('items/:id')
    items(): string {
      hit('/items/:id')
      return 'item'
    }

    @Get('health')
    health(): string {
      hit('/health')
      return 'ok'
    }

    @Get('hang')
    async hang(): Promise<string> {
      hit('/hang')
      await (spec.held ?? forever)
      return 'done'
    }

    @Get('boom')
    boom(): never {
      hit('/boom')
      throw new Error('handler failed')
    }

    @Get('status/:code')
    status(@Param('code') code: string, @Res() res: AnyRes): void {
      hit('/status/:code')
      res.status(Number(code)).send('status')
    }

    @Get('decision')
    decision(@Req() req: AnyReq, @Res() res: AnyRes): void {
      hit('/decision')
      res.type('application/json').send(JSON.stringify(req.rateLimit ?? null))
    }
  }

  @Controller('api')
  @UseGuards(...guards)
  class ApiController {
    @Post('seckill/:sku')
    @HttpCode(200)
    buy(): string {
      hit('/api/seckill/:sku')
      return 'bought'
    }
  }

  const controllers: (new () => unknown)[] = [MainController, ApiController]
  if (spec.special) controllers.unshift(specialController(spec.special, guards, hit))

  @Module({
    imports: [DianaModule.forRoot({ ...(spec.options as { rules: [] }), ...hooks(spec) })],
    controllers,
    providers: spec.appWide ? [{ provide: APP_GUARD, useClass: DianaGuard }] : [],
  })
  class AppModule {}
  return AppModule
}

export function nestFramework(name: string, platform: 'express' | 'fastify'): Framework {
  return {
    name,
    async start(spec): Promise<RunningApp> {
      const hits = new Map<string, number>()
      const hit = (route: string) => hits.set(route, (hits.get(route) ?? 0) + 1)
      const module = appModule(spec, hit)
      let app: INestApplication
      if (platform === 'express') {
        const instance = express()
        if (spec.trustProxy) instance.set('trust proxy', true)
        if (spec.caseSensitive !== undefined) instance.set('case sensitive routing', spec.caseSensitive)
        if (spec.strict !== undefined) instance.set('strict routing', spec.strict)
        app = await NestFactory.create(module, new ExpressAdapter(instance), { logger: false })
      } else {
        const adapter = new FastifyAdapter({
          trustProxy: spec.trustProxy === true,
          ...(spec.caseSensitive !== undefined ? { caseSensitive: spec.caseSensitive } : {}),
          ...(spec.strict !== undefined ? { ignoreTrailingSlash: !spec.strict } : {}),
        })
        app = await NestFactory.create(module, adapter as never, { logger: false })
      }
      if (spec.socketPath !== undefined) await app.listen(spec.socketPath)
      else await app.listen(0, '127.0.0.1')
      const server = app.getHttpServer() as import('node:http').Server
      const url =
        spec.socketPath !== undefined
          ? `unix:${spec.socketPath}`
          : `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      return {
        url,
        limiter: app.get<Limiter>(DIANA_LIMITER),
        hits,
        close: async () => {
          server.closeAllConnections()
          await app.close()
        },
      }
    },
  }
}
