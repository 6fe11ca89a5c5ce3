import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { INestApplication } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
import { ExpressAdapter } from '@nestjs/platform-express'
import { FastifyAdapter } from '@nestjs/platform-fastify'
import { afterEach } from 'vitest'

export const PLATFORMS = ['express', 'fastify'] as const
export type Platform = (typeof PLATFORMS)[number]

export interface RunningNest {
  app: INestApplication
  url: string
}

/**
 * Starts a Nest app module on a loopback port on the given platform; each test's apps are
 * closed after it, so a failing assertion never leaves a server listening.
 */
export function startsNestApps(): (module: new () => unknown, platform: Platform) => Promise<RunningNest> {
  const running: INestApplication[] = []
  afterEach(async () => {
    for (const app of running.splice(0)) {
      ;(app.getHttpServer() as Server).closeAllConnections()
      await app.close()
    }
  })
  return async (module, platform) => {
    const adapter = platform === 'express' ? new ExpressAdapter() : new FastifyAdapter()
    const app = await NestFactory.create(module, adapter as never, { logger: false })
    running.push(app)
    await app.listen(0, '127.0.0.1')
    const port = ((app.getHttpServer() as Server).address() as AddressInfo).port
    return { app, url: `http://127.0.0.1:${port}` }
  }
}
