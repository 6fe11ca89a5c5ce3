import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import { getPath, getPathNoStrict } from 'hono/utils/url'
import { type DianaHonoOptions, diana as dianaHono } from '../../../adapters/hono'
import type { Decision } from '../../../src/decision'
import type { Rule } from '../../../src/rules/rule'
import { thenable } from '../../support/thenable'
import type { AppSpec, Framework } from './apps'

/**
 * The test app of apps.ts in Hono 4 on @hono/node-server, over real HTTP. Hono routes with
 * case and a trailing slash by default; `strict: false` ignores the slash, and case is
 * ignored the Hono way, by a `getPath` that lower-cases the path.
 */

const forever = new Promise<never>(() => {})

function header(c: Context, name: string): string | undefined {
  return c.req.header(name) || undefined
}

function hooks(spec: AppSpec): Partial<DianaHonoOptions> {
  const device = spec.identifyDeviceByHeader
  return {
    ...(spec.trustProxy ? { trustProxy: true } : {}),
    ...(spec.identifyByHeader ? { identify: (c: Context) => header(c, 'x-account') } : {}),
    ...(spec.prioritizeByHeader
      ? {
          prioritize: (c: Context) => {
            const value = header(c, 'x-priority')
            if (value === 'throw') throw new Error('priority hook failed')
            // Passed on unchecked, as a careless app would: the adapter must cope with any value.
            return value as 'normal' | undefined
          },
        }
      : {}),
    ...(device
      ? {
          identifyDevice: (c: Context) => {
            const value = header(c, device.header)
            if (value === 'throw') throw new Error('device hook failed')
            return device.async ? Promise.resolve(value) : value
          },
        }
      : {}),
    ...(spec.skipByHeader
      ? {
          skip: (c: Context) => {
            const present = c.req.header('x-skip') !== undefined
            return spec.skipByHeader === 'thenable' ? thenable(present) : present
          },
        }
      : {}),
    ...(spec.customLimited
      ? {
          onLimited: (c: Context, d: Decision) =>
            c.text(`slow down ${d.rule}${c.get('rateLimit') === d ? ' (on the request)' : ''}`, 418),
        }
      : {}),
  }
}

export function honoFramework(name: string): Framework {
  return {
    name,
    async start(spec) {
      const hits = new Map<string, number>()
      const hit = (route: string) => hits.set(route, (hits.get(route) ?? 0) + 1)
      const path = spec.strict === false ? getPathNoStrict : getPath
      const app = new Hono(
        spec.caseSensitive === false
          ? { getPath: (request: Request) => path(request).toLowerCase() }
          : spec.strict === false
            ? { strict: false }
            : {},
      )
      // Hono's default error handler logs each failure; the tests fail handlers on purpose.
      app.onError((_error, c) => c.text('Internal Server Error', 500))
      const limit = dianaHono({ ...(spec.options as { rules: Rule[] }), ...hooks(spec) })
      let special: ReturnType<typeof dianaHono> | undefined
      if (spec.special) {
        special = dianaHono({ rules: spec.special, clock: spec.options.clock as () => number })
        app.get('/special', special, (c) => {
          hit('/special')
          return c.text('special')
        })
      }
      if (spec.appWide) app.use(limit)
      // On the routes themselves otherwise: Hono knows the pattern either way.
      const onRoute = (spec.appWide ? [] : [limit]) as [MiddlewareHandler]
      app.get('/items/:id', ...onRoute, (c) => {
        hit('/items/:id')
        return c.text('item')
      })
      app.get('/health', ...onRoute, (c) => {
        hit('/health')
        return c.text('ok')
      })
      app.get('/hang', ...onRoute, async (c) => {
        hit('/hang')
        await (spec.held ?? forever)
        return c.text('done')
      })
      app.get('/boom', ...onRoute, () => {
        hit('/boom')
        throw new Error('handler failed')
      })
      app.get('/status/:code', ...onRoute, (c) => {
        hit('/status/:code')
        return c.text('status', Number(c.req.param('code')) as 200)
      })
      app.get('/decision', ...onRoute, (c) => {
        hit('/decision')
        return c.body(JSON.stringify(c.get('rateLimit') ?? null), 200, { 'Content-Type': 'application/json' })
      })
      const api = new Hono()
      api.post('/seckill/:sku', ...onRoute, (c) => {
        hit('/api/seckill/:sku')
        return c.text('bought')
      })
      app.route('/api', api)
      const server = createAdaptorServer({ fetch: app.fetch }) as Server
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        if (spec.socketPath !== undefined) server.listen(spec.socketPath, () => resolve())
        else server.listen(0, '127.0.0.1', () => resolve())
      })
      const url =
        spec.socketPath !== undefined
          ? `unix:${spec.socketPath}`
          : `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      return {
        url,
        limiter: limit.limiter,
        hits,
        close: async () => {
          server.closeAllConnections()
          await new Promise((resolve) => server.close(resolve))
          await limit.close()
          await special?.close()
        },
      }
    },
  }
}
