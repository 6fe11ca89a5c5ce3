import { afterEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import type { RemoteDocument } from '../../src/config/config-schema'
import type { ConfigSource } from '../../src/config/config-source'
import { parseRemoteDocument } from '../../src/config/parse-config'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { fakeClock, nextEvent, recordingLogger } from './config-helpers'

/**
 * A configuration source held in memory: a complete implementation of the ConfigSource
 * interface (what an etcd, Consul or HTTP source would do over the network), pushed by hand.
 */
class MemorySource implements ConfigSource<RemoteDocument> {
  readonly name: string
  #text: string | undefined
  #onText: ((text: string | undefined) => void) | undefined
  #onError: ((error: Error) => void) | undefined
  closed = false

  constructor(name: string, text?: string) {
    this.name = name
    this.#text = text
  }

  async read() {
    return this.#text
  }

  convert(text: string, name = this.name) {
    return parseRemoteDocument(text, name)
  }

  listen(onText: (text: string | undefined) => void, onError: (error: Error) => void) {
    this.#onText = onText
    this.#onError = onError
  }

  async close() {
    this.closed = true
  }

  push(text: string | undefined) {
    this.#text = text
    this.#onText?.(text)
  }

  fail(error: Error) {
    this.#onError?.(error)
  }
}

const rule = (name: string, limit: number, extra: Partial<Rule> = {}): Rule => ({
  name,
  dimension: 'account',
  algorithm: 'fixed-window',
  limit,
  window: '1m',
  ...extra,
})

const documentOf = (...rules: Rule[]) =>
  `version: 1\nrules:\n${rules.map((r) => `  - ${JSON.stringify(r)}`).join('\n')}\n`

const limiters: Limiter[] = []
afterEach(async () => {
  await Promise.all(limiters.splice(0).map((limiter) => limiter.close()))
})

function start(sources: MemorySource[], rules: Rule[] = [rule('a', 10), rule('b', 20)]) {
  const logger = recordingLogger()
  const limiter = createLimiter({ rules, sources, clock: fakeClock().now, logger })
  limiters.push(limiter)
  return { limiter, logger }
}

const summary = (limiter: Limiter) => limiter.rules.map((r) => `${r.name}=${r.limit}`)

describe('precedence: remote rules override local ones by name', () => {
  it('replaces same-named rules in place and appends new ones in the remote order', async () => {
    const remote = new MemorySource('memory:one', documentOf(rule('c', 3), rule('b', 2)))
    const { limiter } = start([remote])
    await limiter.ready()
    expect(summary(limiter)).toEqual(['a=10', 'b=2', 'c=3'])
  })

  it('lets a later source override an earlier one', async () => {
    const first = new MemorySource('memory:first', documentOf(rule('a', 5), rule('c', 3)))
    const second = new MemorySource('memory:second', documentOf(rule('a', 1)))
    const { limiter } = start([first, second])
    await limiter.ready()
    expect(summary(limiter)).toEqual(['a=1', 'b=20', 'c=3'])
  })

  it('switches a local rule off by overriding it with shadow: true', async () => {
    const remote = new MemorySource('memory:one', documentOf(rule('a', 1, { shadow: true })))
    const { limiter } = start([remote], [rule('a', 1)])
    await limiter.ready()
    await limiter.check({ account: 'x' })
    const second = await limiter.check({ account: 'x' })
    expect(second.allowed).toBe(true)
    expect(second.shadowDenied).toEqual(['a'])
  })

  it('falls back to the local rules when the remote document disappears', async () => {
    const remote = new MemorySource('memory:one', documentOf(rule('a', 1)))
    const { limiter } = start([remote])
    await limiter.ready()
    const applied = nextEvent(limiter, 'config', (event) => event.version === 3)
    remote.push(undefined)
    expect(await applied).toMatchObject({ source: 'memory:one', version: 3 })
    expect(summary(limiter)).toEqual(['a=10', 'b=20'])
  })
})

describe('pushed documents', () => {
  it('applies each new document once; a repeat changes nothing', async () => {
    const remote = new MemorySource('memory:one', documentOf(rule('a', 1)))
    const { limiter } = start([remote])
    const events: number[] = []
    limiter.on('config', (event) => events.push(event.version))
    await limiter.ready()
    remote.push(documentOf(rule('a', 2)))
    remote.push(documentOf(rule('a', 2)))
    remote.push(documentOf(rule('a', 3)))
    await new Promise((resolve) => setImmediate(resolve))
    expect(events).toEqual([1, 2, 3, 4])
    expect(summary(limiter)).toEqual(['a=3', 'b=20'])
  })

  it('rejects an invalid document once, naming the source, line and column; the rules stay', async () => {
    const remote = new MemorySource('memory:one', documentOf(rule('a', 1)))
    const { limiter, logger } = start([remote])
    await limiter.ready()
    const errors: Error[] = []
    limiter.on('configError', (error) => errors.push(error))
    const bad =
      'version: 1\nrules:\n  - { name: a, dimension: account, algorithm: fixed-window, limit: 1, window: 1m, burst: 2 }\n'
    remote.push(bad)
    remote.push(bad)
    await new Promise((resolve) => setImmediate(resolve))
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(ConfigError)
    expect(errors[0]?.message).toBe(
      'memory:one:3:90: rules[0].burst: is not valid for fixed-window; only token-bucket and leaky-bucket take a burst',
    )
    expect(logger.lines).toHaveLength(1)
    expect(summary(limiter)).toEqual(['a=1', 'b=20'])
  })

  it('reports a failing source once per distinct failure and keeps the rules', async () => {
    const remote = new MemorySource('memory:one', documentOf(rule('a', 1)))
    const { limiter, logger } = start([remote])
    await limiter.ready()
    const errors: string[] = []
    limiter.on('configError', (error) => errors.push(error.message))
    remote.fail(new Error('connection refused'))
    remote.fail(new Error('connection refused'))
    remote.fail(new Error('timed out'))
    await new Promise((resolve) => setImmediate(resolve))
    expect(errors).toEqual([
      'memory:one: connection refused; keeping the rules in force',
      'memory:one: timed out; keeping the rules in force',
    ])
    expect(logger.lines).toEqual(errors.map((message) => `diana: ${message}`))
    expect(summary(limiter)).toEqual(['a=1', 'b=20'])
  })

  it('closes its sources with the limiter and ignores them afterwards', async () => {
    const remote = new MemorySource('memory:one', documentOf(rule('a', 1)))
    const { limiter } = start([remote])
    await limiter.ready()
    await limiter.close()
    expect(remote.closed).toBe(true)
    remote.push(documentOf(rule('a', 9)))
    expect(summary(limiter)).toEqual(['a=1', 'b=20'])
  })

  it('rejects a source that is not one, naming the option', () => {
    expect(() => createLimiter({ rules: [], sources: [{} as MemorySource] })).toThrow(
      'createLimiter: sources must be a list of ConfigSource (read, convert, listen, close)',
    )
  })
})
