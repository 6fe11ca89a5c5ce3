/**
 * The core entry point's types as a user meets them: imported from `diana-limiter` (this
 * package's own build, through its `exports`), so a declaration that tsup drops or mangles
 * fails here. Checked by `vitest run` (typecheck) and `tsc --noEmit`; nothing here runs.
 */
import {
  type Algorithm,
  type BuiltInAlgorithm,
  createLimiter,
  type Decision,
  type Limiter,
  type LimiterOptions,
  type Logger,
  loadConfig,
  type Rule,
  registerAlgorithm,
  registerDimension,
  type Subject,
  signDeviceId,
} from 'diana-limiter'
import { describe, expectTypeOf, it } from 'vitest'

const rule: Rule = { name: 'api', dimension: 'account', algorithm: 'fixed-window', limit: 10, window: '1s' }

describe('createLimiter', () => {
  it('takes LimiterOptions and returns a Limiter, not a promise of one', () => {
    expectTypeOf(createLimiter).parameter(0).toEqualTypeOf<LimiterOptions>()
    expectTypeOf(createLimiter).returns.toEqualTypeOf<Limiter>()
    expectTypeOf(createLimiter({ rules: [rule] })).not.toEqualTypeOf<Promise<Limiter>>()
  })

  it('takes rules or a config file, a store, a clock and a logger', () => {
    expectTypeOf({ config: 'diana.yaml', watch: false }).toExtend<LimiterOptions>()
    expectTypeOf({
      rules: [rule],
      store: { type: 'redis' as const, url: 'redis://127.0.0.1:6379', onFailure: 'closed' as const },
      clock: () => 0,
      logger: console,
    }).toExtend<LimiterOptions>()
    // @ts-expect-error the clock answers epoch milliseconds, not a Date
    createLimiter({ rules: [rule], clock: () => new Date() })
    // @ts-expect-error a store type Diana does not have
    createLimiter({ rules: [rule], store: { type: 'mongo' } })
    // @ts-expect-error onFailure is fallback, open or closed
    createLimiter({ rules: [rule], store: { type: 'redis', onFailure: 'retry' } })
  })

  it('rules name a built-in algorithm or a registered one, and a window as ms or a duration', () => {
    expectTypeOf<BuiltInAlgorithm>().toEqualTypeOf<
      | 'fixed-window'
      | 'sliding-window'
      | 'token-bucket'
      | 'leaky-bucket'
      | 'concurrency'
      | 'adaptive-concurrency'
    >()
    expectTypeOf<BuiltInAlgorithm>().toExtend<Rule['algorithm']>()
    expectTypeOf<'daily-quota'>().toExtend<Rule['algorithm']>()
    // Optional for adaptive-concurrency only; compileRules requires it of every other algorithm.
    expectTypeOf<Rule['window']>().toEqualTypeOf<number | string | undefined>()
    // @ts-expect-error a rule needs a limit
    const noLimit: Rule = { name: 'x', dimension: 'global', algorithm: 'token-bucket', window: '1s' }
    expectTypeOf(noLimit).toEqualTypeOf<Rule>()
  })

  it('loadConfig is there for a config file', () => {
    expectTypeOf(loadConfig).toBeFunction()
  })
})

describe('Decision', () => {
  it('has the fields of the contract, with their types', () => {
    expectTypeOf<Decision>().toHaveProperty('allowed').toEqualTypeOf<boolean>()
    expectTypeOf<Decision>().toHaveProperty('rule').toEqualTypeOf<string | undefined>()
    expectTypeOf<Decision>().toHaveProperty('limit').toEqualTypeOf<number>()
    expectTypeOf<Decision>().toHaveProperty('remaining').toEqualTypeOf<number>()
    expectTypeOf<Decision>().toHaveProperty('resetMs').toEqualTypeOf<number>()
    expectTypeOf<Decision>().toHaveProperty('retryAfterMs').toEqualTypeOf<number>()
    expectTypeOf<Decision>().toHaveProperty('delayMs').toEqualTypeOf<number>()
    expectTypeOf<Decision>().toHaveProperty('degraded').toEqualTypeOf<boolean>()
    // Only on decisions of checks that applied a concurrency rule, so callers write release?.().
    expectTypeOf<Decision['release']>().toEqualTypeOf<(() => void) | undefined>()
  })

  it('a subject has a priority of three values, and an adaptive rule its minLimit', () => {
    expectTypeOf<Subject['priority']>().toEqualTypeOf<'critical' | 'normal' | 'sheddable' | undefined>()
    // @ts-expect-error no such priority
    const urgent: Subject = { priority: 'urgent' }
    expectTypeOf(urgent).toEqualTypeOf<Subject>()
    expectTypeOf<Rule['minLimit']>().toEqualTypeOf<number | undefined>()
  })
})

describe('Limiter', () => {
  const limiter = createLimiter({ rules: [rule] })

  it('check and peek take a subject and an optional cost, and answer a Decision', () => {
    expectTypeOf(limiter.check).toBeCallableWith({ account: 'a' })
    expectTypeOf(limiter.check).toBeCallableWith({ account: 'a', device: 'd' }, { cost: 3 })
    expectTypeOf(limiter.check).returns.toEqualTypeOf<Promise<Decision>>()
    expectTypeOf(limiter.peek).toBeCallableWith({ ip: '10.0.0.1' }, { cost: 2 })
    expectTypeOf(limiter.peek).returns.toEqualTypeOf<Promise<Decision>>()
    expectTypeOf(limiter.check).parameter(0).toEqualTypeOf<Subject>()
    // @ts-expect-error a subject field holds a string
    limiter.check({ account: 42n })
    // @ts-expect-error cost is a number
    limiter.check({ account: 'a' }, { cost: '2' })
  })

  it('reset and refund take a subject, an optional rule (and cost), and answer nothing', () => {
    expectTypeOf(limiter.reset).toBeCallableWith({ account: 'a' }, { rule: 'api' })
    expectTypeOf(limiter.reset).returns.toEqualTypeOf<Promise<void>>()
    expectTypeOf(limiter.refund).toBeCallableWith({ account: 'a' }, { cost: 2, rule: 'api' })
    expectTypeOf(limiter.refund).returns.toEqualTypeOf<Promise<void>>()
    // @ts-expect-error reset forgets all of a subject's state; it takes no cost
    limiter.reset({ account: 'a' }, { cost: 1 })
    expectTypeOf(limiter.close).returns.toEqualTypeOf<Promise<void>>()
  })
})

describe('extensions', () => {
  it('registerAlgorithm takes a name and an Algorithm', () => {
    expectTypeOf(registerAlgorithm).parameters.toEqualTypeOf<[string, Algorithm]>()
    expectTypeOf(registerAlgorithm).returns.toBeVoid()
    expectTypeOf<Algorithm>().toHaveProperty('step').toBeFunction()
    expectTypeOf<Algorithm>().toHaveProperty('stateSize').toEqualTypeOf<number>()
    // @ts-expect-error an algorithm is an object with a step, not a bare function
    registerAlgorithm('daily', () => ({ allowed: true }))
    expectTypeOf(registerDimension).toBeFunction()
  })
})

describe('signDeviceId', () => {
  it('signs an id with a string or byte secret, giving the header value', () => {
    expectTypeOf(signDeviceId).toBeCallableWith('device-1', 'a secret of 16+ bytes')
    expectTypeOf(signDeviceId).toBeCallableWith('device-1', new Uint8Array(32))
    expectTypeOf(signDeviceId).returns.toEqualTypeOf<string>()
    // @ts-expect-error the secret is a string or bytes
    signDeviceId('device-1', 42)
  })
})

describe('Logger', () => {
  it('is anything with warn(message), console included', () => {
    expectTypeOf<Logger>().toEqualTypeOf<{ warn(message: string): void }>()
    expectTypeOf(console).toExtend<Logger>()
    // @ts-expect-error a logger needs warn
    const silent: Logger = { info: () => {} }
    expectTypeOf(silent).toEqualTypeOf<Logger>()
  })
})
