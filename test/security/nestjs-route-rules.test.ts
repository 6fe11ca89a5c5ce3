import { Controller, HttpCode, Module, Post, UseGuards } from '@nestjs/common'
import { describe, expect, it } from 'vitest'
import { DianaGuard, DianaModule, RateLimit } from '../../adapters/nestjs'
import type { Rule } from '../../src/rules/rule'
import { fakeClock, rawStatus, send } from '../adapters/support/http'
import { PLATFORMS, startsNestApps } from '../adapters/support/nest-app'

// Attacks on what only the NestJS entry has: rules bound to a handler by @RateLimit. The
// attacks every adapter must withstand (hostile headers and device ids, throwing hooks, reset
// connections, path spellings of match.path rules) run on NestJS through the shared suites
// (test/security/adapter-*.test.ts over test/adapters/support/apps.ts).

/** Per client and resource: a fresh bucket per spelling would multiply the limit. */
const login: Rule = {
  name: 'login',
  dimension: ['device', 'resource'],
  algorithm: 'fixed-window',
  limit: 3,
  window: '1h',
}

const roomy: Rule = {
  name: 'roomy',
  dimension: 'device',
  algorithm: 'fixed-window',
  limit: 1000,
  window: '1m',
}

function appWith(hit: () => void, options: Record<string, unknown> = {}) {
  @Controller('api')
  @UseGuards(DianaGuard)
  class Auth {
    @Post('login')
    @HttpCode(200)
    @RateLimit([login])
    signIn() {
      hit()
      return 'welcome'
    }
  }
  @Module({
    imports: [DianaModule.forRoot({ rules: [roomy], clock: fakeClock().now, ...options })],
    controllers: [Auth],
  })
  class App {}
  return App
}

describe.each(PLATFORMS)('NestJS 12 on %s: @RateLimit rules under attack', (platform) => {
  const start = startsNestApps()

  it('no spelling of the path the router takes to the handler escapes its rules or gets a fresh bucket', async () => {
    let hits = 0
    const { url } = await start(
      appWith(() => hits++),
      platform,
    )
    const spellings = [
      '/api/login',
      '/API/LOGIN',
      '/api/Login',
      '/api/login/',
      '//api/login',
      '/api/%6cogin',
      '/api/login?x=1',
      '/api/login#top',
      `${url}/api/login`,
      '/api/./login',
      '/api/x/../login',
    ]
    const statuses: Record<string, number[]> = {}
    for (const target of [...spellings, ...spellings]) {
      statuses[target] = [...(statuses[target] ?? []), await rawStatus(url, target, { method: 'POST' })]
    }
    // Whatever each platform routes (Express folds case, Fastify does not), the handler ran
    // at most the limit: every spelling that reached it counted in the same bucket.
    expect(hits, JSON.stringify(statuses)).toBe(3)
  })

  it('a throwing identify or identifyDevice hook leaves the route limited, and the process up', async () => {
    let hits = 0
    const warnings: string[] = []
    const { url } = await start(
      appWith(() => hits++, {
        identify: () => {
          throw new Error('identify broke')
        },
        identifyDevice: () => Promise.reject(new Error('device hook broke')),
        logger: { warn: (message: string) => warnings.push(message) },
      }),
      platform,
    )
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await send(`${url}/api/login`, { method: 'POST' })).status)
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(hits).toBe(3)
    expect(warnings.some((w) => w.includes('identify hook failed'))).toBe(true)
  })

  it('rotating device ids cannot reach another client’s route bucket or the address bucket', async () => {
    let hits = 0
    const { url } = await start(
      appWith(() => hits++, { deviceSecret: 'a-secret-of-at-least-16-bytes' }),
      platform,
    )
    // Unsigned ids, forged signatures and key-shaped values all fall back to the address.
    const ids = ['a', 'b', 'a:127.0.0.1', 'h:a', 'x.forged', 'login|/api/login', 'c', 'd']
    const statuses = []
    for (const id of ids) {
      statuses.push(
        (await send(`${url}/api/login`, { method: 'POST', headers: { 'x-device-id': id } })).status,
      )
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429, 429, 429, 429])
    expect(hits).toBe(3)
  })
})
