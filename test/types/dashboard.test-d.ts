/**
 * diana-limiter/dashboard's types as a user meets them: a handler any Node framework takes,
 * options checked by the compiler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import express from 'express'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type Authorization,
  type DashboardHandler,
  type DashboardOptions,
  dashboard,
} from '../../src/dashboard/index'
import { createLimiter } from '../../src/index'

const limiter = createLimiter({ rules: [] })

describe('diana-limiter/dashboard', () => {
  it('returns a Node request handler with close()', () => {
    const handler = dashboard(limiter, { token: 'a-token-of-16-chars' })
    expectTypeOf(handler).toEqualTypeOf<DashboardHandler>()
    expectTypeOf(handler).toBeCallableWith({} as IncomingMessage, {} as ServerResponse)
    expectTypeOf(handler.close).toEqualTypeOf<() => void>()
    express().use('/ops', handler)
  })

  it('takes a token or an authorize hook, sync or async', () => {
    dashboard(limiter, { authorize: () => true })
    dashboard(limiter, {
      authorize: async (req) => (req.headers['x-user'] === 'ops' ? { identity: 'ops' } : false),
    })
    expectTypeOf<ReturnType<NonNullable<DashboardOptions['authorize']>>>().toEqualTypeOf<
      Authorization | Promise<Authorization>
    >()
    // @ts-expect-error allowEdits is a boolean
    dashboard(limiter, { token: 'a-token-of-16-chars', allowEdits: 'yes' })
    // @ts-expect-error options are required: no token, no dashboard
    dashboard(limiter)
  })
})
