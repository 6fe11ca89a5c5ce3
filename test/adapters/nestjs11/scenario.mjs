// One request sequence through diana-limiter/nestjs on the NestJS installed next to this file
// (NestJS 11, see package.json), run by test/adapters/nestjs11.test.ts as
// `node scenario.mjs <express|fastify> <esm|cjs>`. Prints the transcript as JSON.
// Plain JavaScript with decorators applied by hand, so that it runs without a compiler.
import { createRequire } from 'node:module'

const [platform, build] = process.argv.slice(2)
const require = createRequire(import.meta.url)
// The ES module build through `import`, the CommonJS build through `require`.
const diana = build === 'cjs' ? require('diana-limiter/nestjs') : await import('diana-limiter/nestjs')
const common = await import('@nestjs/common')
const { APP_GUARD, NestFactory } = await import('@nestjs/core')
const { Controller, Get, HttpCode, HttpException, Module, Post, Req } = common
const { DianaGuard, DianaModule, RateLimit, RateLimitExceededException, SkipRateLimit } = diana

const version = require('@nestjs/core/package.json').version

function method(target, name, ...decorators) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name)
  for (const decorate of decorators) decorate(target.prototype, name, descriptor)
}

class Api {
  items() {
    return 'item'
  }
  login() {
    return 'welcome'
  }
  free() {
    return 'free'
  }
  decision(req) {
    return { remaining: req.rateLimit?.remaining ?? null }
  }
}
Controller()(Api)
method(Api, 'items', Get('items/:id'))
method(
  Api,
  'login',
  Post('login'),
  HttpCode(200),
  RateLimit([{ name: 'login', dimension: 'device', algorithm: 'fixed-window', limit: 1, window: '1h' }]),
)
method(Api, 'free', Get('free'), SkipRateLimit())
method(Api, 'decision', Get('decision'))
Req()(Api.prototype, 'decision', 0)

class App {}
Module({
  imports: [
    DianaModule.forRoot({
      rules: [{ name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 2, window: '1m' }],
      // 1_700_000_040_000 is a whole number of minutes: the window has 60 s left.
      clock: () => 1_700_000_040_000,
    }),
  ],
  controllers: [Api],
  providers: [{ provide: APP_GUARD, useClass: DianaGuard }],
})(App)

let adapter
if (platform === 'fastify') {
  const { FastifyAdapter } = await import('@nestjs/platform-fastify')
  adapter = new FastifyAdapter()
}
const app = adapter
  ? await NestFactory.create(App, adapter, { logger: false })
  : await NestFactory.create(App, { logger: false })
await app.listen(0, '127.0.0.1')
const url = (await app.getUrl()).replace('[::1]', '127.0.0.1')

const transcript = []
async function step(path, device, method = 'GET') {
  const response = await fetch(`${url}${path}`, { method, headers: { 'x-device-id': device } })
  const body = await response.text()
  transcript.push({
    request: `${method} ${path} (${device})`,
    status: response.status,
    contentType: (response.headers.get('content-type') ?? '').split(';')[0],
    policy: response.headers.get('ratelimit-policy'),
    ratelimit: response.headers.get('ratelimit'),
    retryAfter: response.headers.get('retry-after'),
    body: response.status === 429 || path === '/decision' ? JSON.parse(body) : body,
  })
}
await step('/items/1', 'a')
await step('/items/2', 'a')
await step('/items/3', 'a')
await step('/free', 'a')
await step('/login', 'b', 'POST')
await step('/login', 'b', 'POST')
await step('/decision', 'c')
await app.close()
const exception = new RateLimitExceededException({
  type: 't',
  title: 'Too Many Requests',
  status: 429,
  detail: '',
})
process.stdout.write(
  `${JSON.stringify({ nest: version, httpException: exception instanceof HttpException, transcript })}\n`,
)
