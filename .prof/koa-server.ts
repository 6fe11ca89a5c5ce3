import { createServer } from 'node:http'
import Router from '@koa/router'
import Koa, { type Context, type Middleware } from 'koa'
import { diana } from '../adapters/koa'
import { FOUR_RULES } from '../scripts/bench/http-overhead'
const variant = process.argv[2]
const app = new Koa()
if (variant === 'diana') app.use(diana({ rules: FOUR_RULES, identify: (ctx) => ctx.get('x-account') || undefined }))
if (variant === 'peer') {
  const ratelimit = (await import('koa-ratelimit' as string)).default as (o: unknown) => Middleware
  app.use(ratelimit({ driver: 'memory', db: new Map(), duration: 60_000, max: 1e9, id: (ctx: Context) => (ctx.headers['x-device-id'] as string) ?? ctx.ip }))
}
const router = new Router()
router.get('/items/:id', (ctx) => { ctx.body = { hello: 'world' } })
app.use(router.routes())
const server = createServer(app.callback()).listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ port: (server.address() as { port: number }).port }))
})
process.on('SIGINT', () => process.exit(0))
