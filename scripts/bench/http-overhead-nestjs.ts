/**
 * The NestJS servers of scripts/bench/http-overhead.ts: the bare app, Diana (`DianaModule` with
 * four rules and `DianaGuard` as `APP_GUARD`) and @nestjs/throttler (`ThrottlerModule` with one
 * throttler and `ThrottlerGuard` as `APP_GUARD`), each as a Nest user mounts it, for every route,
 * on @nestjs/platform-express or @nestjs/platform-fastify.
 */
import type { Server } from 'node:http'
import type { HttpVariant } from '../../bench/http-contenders'
import { BENCH_LIMIT } from '../../bench/quota'
import type { Rule } from '../../src/rules/rule'

export const NEST_PLATFORMS = ['nestjs-express', 'nestjs-fastify'] as const
export type NestPlatform = (typeof NEST_PLATFORMS)[number]

export const NEST_PEER = '@nestjs/throttler'

type Headers = Record<string, string | string[] | undefined>

export async function nestApp(
  platform: NestPlatform,
  variant: HttpVariant,
  rules: Rule[],
  deviceOf: (headers: Headers, ip: string | undefined) => string,
  listen = true,
): Promise<Server> {
  const { Controller, Get, Module } = await import('@nestjs/common')
  const { APP_GUARD, NestFactory } = await import('@nestjs/core')
  const body = { hello: 'world' }

  @Controller()
  class Items {
    @Get('items/:id')
    item() {
      return body
    }
  }

  let imports: unknown[] = []
  let providers: unknown[] = []
  if (variant === 'diana') {
    const { DianaGuard, DianaModule } = await import('../../adapters/nestjs')
    imports = [
      DianaModule.forRoot({
        rules,
        identify: (req: { headers: Headers }) => req.headers['x-account'] as string | undefined,
      }),
    ]
    providers = [{ provide: APP_GUARD, useClass: DianaGuard }]
  } else if (variant === 'peer') {
    const { ThrottlerGuard, ThrottlerModule } = await import('@nestjs/throttler')
    imports = [
      ThrottlerModule.forRoot({
        throttlers: [{ ttl: 60_000, limit: BENCH_LIMIT }],
        getTracker: (req: Record<string, unknown>) => deviceOf(req.headers as Headers, req.ip as string),
      }),
    ]
    providers = [{ provide: APP_GUARD, useClass: ThrottlerGuard }]
  }

  @Module({ imports: imports as never[], controllers: [Items], providers: providers as never[] })
  class App {}

  let app: Awaited<ReturnType<typeof NestFactory.create>>
  if (platform === 'nestjs-express') {
    app = await NestFactory.create(App, { logger: false, abortOnError: false })
  } else {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify')
    app = await NestFactory.create(App, new FastifyAdapter() as never, { logger: false, abortOnError: false })
  }
  if (!listen) {
    // Not listening: light-my-request's inject over the platform's handler (scripts/bench/nestjs-guard.ts).
    await app.init()
    const instance = app.getHttpAdapter().getInstance()
    if (platform === 'nestjs-fastify') return ((options: object) => instance.inject(options)) as never
    const { inject } = await import('light-my-request')
    return ((options: object) => inject(instance, options as never)) as never
  }
  await app.listen(0, '127.0.0.1')
  return app.getHttpServer() as Server
}
