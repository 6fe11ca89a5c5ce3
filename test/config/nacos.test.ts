import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import { createLimiter, type Limiter } from '../../src/limiter'
import { type FakeNacosServer, startFakeNacos } from '../support/fake-nacos-server'
import { fakeClock, nextEvent, recordingLogger, temporaryDirectory, writeAtomically } from './config-helpers'

// The real `nacos` client talks to a small HTTP server that implements the config API it uses
// (a Nacos server cannot be installed here); see test/support/fake-nacos-server.ts.

const GROUP = 'DEFAULT_GROUP'
let server: FakeNacosServer
let dir: string
let remove: () => void
let dataId: string
let dataIds = 0
const limiters: Limiter[] = []

beforeAll(async () => {
  server = await startFakeNacos()
})

afterAll(async () => {
  await server.stop()
})

beforeEach(async () => {
  await server.start()
  ;({ dir, remove } = temporaryDirectory())
  // A fresh document per test, so no test sees another's.
  dataId = `diana-rules-${process.pid}-${dataIds++}.yaml`
})

afterEach(async () => {
  await Promise.all(limiters.splice(0).map((limiter) => limiter.close()))
  remove()
})

/** Local rules: account 100/min and device 20/min; Nacos within 1 s, retried every 1 s. */
function writeConfig(): string {
  const file = join(dir, 'diana.yaml')
  writeAtomically(
    file,
    `version: 1
remote:
  nacos: { serverAddr: "${server.address}", group: ${GROUP}, dataId: ${dataId}, timeout: 1s, startupWait: 1s }
rules:
  - { name: account, dimension: account, algorithm: fixed-window, limit: 100, window: 1m }
  - { name: device, dimension: device, algorithm: fixed-window, limit: 20, window: 1m }
`,
  )
  return file
}

/** A remote document: overrides "account" and adds "seckill". */
const remoteRules = (accountLimit: number) => `version: 1
rules:
  - { name: seckill, dimension: resource, algorithm: fixed-window, limit: 5, window: 1s }
  - { name: account, dimension: account, algorithm: fixed-window, limit: ${accountLimit}, window: 1m }
`

function start(file: string) {
  const logger = recordingLogger()
  const limiter = createLimiter({ config: file, clock: fakeClock().now, logger })
  limiters.push(limiter)
  return { limiter, logger }
}

const summary = (limiter: Limiter) => limiter.rules.map((rule) => `${rule.name}=${rule.limit}`)
const source = () => `nacos:${GROUP}/${dataId}`

describe('remote rules from Nacos', () => {
  it('reads the document at start; its rules override local ones by name', async () => {
    server.publish(dataId, GROUP, remoteRules(2))
    const { limiter } = start(writeConfig())
    // Local rules are in force at once; the remote ones when they arrive.
    expect(summary(limiter)).toEqual(['account=100', 'device=20'])
    const event = await nextEvent(limiter, 'config', (e) => e.source === source())
    expect(event.version).toBe(2)
    // "account" keeps its place (ties go to the first rule); "seckill" is added after.
    expect(summary(limiter)).toEqual(['account=2', 'device=20', 'seckill=5'])
    const decisions = [0, 1, 2].map(() => limiter.check({ account: 'a' }))
    expect((await Promise.all(decisions)).map((d) => d.allowed)).toEqual([true, true, false])
  })

  it('applies a published change within 2 s, keeping the counters of unchanged rules', async () => {
    server.publish(dataId, GROUP, remoteRules(2))
    const { limiter } = start(writeConfig())
    await nextEvent(limiter, 'config', (e) => e.source === source())
    await limiter.check({ device: 'd' })

    const applied = nextEvent(limiter, 'config', (e) => e.source === source())
    const started = performance.now()
    server.publish(dataId, GROUP, remoteRules(7))
    await applied
    expect(performance.now() - started).toBeLessThan(2000)
    expect(summary(limiter)).toEqual(['account=7', 'device=20', 'seckill=5'])
    expect((await limiter.check({ device: 'd' })).remaining).toBe(18)
  })

  it('rejects a bad pushed document as a whole, once, with its position, and keeps the rules', async () => {
    server.publish(dataId, GROUP, remoteRules(2))
    const { limiter, logger } = start(writeConfig())
    await nextEvent(limiter, 'config', (e) => e.source === source())

    const rejected = nextEvent(limiter, 'configError')
    server.publish(dataId, GROUP, remoteRules(7).replace('window: 1s', 'window: 1 second'))
    const error = await rejected
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).lines).toEqual([
      `${source()}:3:86: rules[0].window: must be a duration such as 500ms, 1s, 1m, 1h, 1d, or a whole number of ms`,
    ])
    expect(summary(limiter)).toEqual(['account=2', 'device=20', 'seckill=5'])

    // The next good document is taken; the bad one was reported once.
    const applied = nextEvent(limiter, 'config', (e) => e.source === source())
    server.publish(dataId, GROUP, remoteRules(3))
    await applied
    expect(summary(limiter)).toEqual(['account=3', 'device=20', 'seckill=5'])
    expect(logger.lines.filter((line) => line.includes('rules[0].window'))).toHaveLength(1)
  })

  it('keeps the rules in force while the server is down, and reports the outage', async () => {
    server.publish(dataId, GROUP, remoteRules(2))
    const { limiter } = start(writeConfig())
    await nextEvent(limiter, 'config', (e) => e.source === source())

    const outage = nextEvent(limiter, 'configError')
    await server.stop()
    const error = await outage
    // ECONNRESET for the held long poll, ECONNREFUSED for the next try; either may come first.
    expect(error.message.startsWith(`${source()}: POST http://${server.address}/nacos/v1/cs/configs/`)).toBe(
      true,
    )
    expect(error.message).toMatch(/: (ECONNRESET|ECONNREFUSED|UND_ERR_SOCKET); keeping the rules in force$/)
    expect(summary(limiter)).toEqual(['account=2', 'device=20', 'seckill=5'])
    expect((await limiter.check({ account: 'a' })).remaining).toBe(1)
  })

  it('starts from the snapshot of the last good document after a restart while Nacos is down', async () => {
    server.publish(dataId, GROUP, remoteRules(2))
    const file = writeConfig()
    const first = start(file).limiter
    await nextEvent(first, 'config', (e) => e.source === source())
    await first.close()
    const snapshot = join(dir, `.diana-snapshot.${dataId}`)
    expect(readFileSync(snapshot, 'utf8')).toBe(remoteRules(2))

    await server.stop()
    const { limiter } = start(file)
    // In force at creation, before any answer from Nacos.
    expect(summary(limiter)).toEqual(['account=2', 'device=20', 'seckill=5'])
    const event = await nextEvent(limiter, 'config')
    expect(event).toMatchObject({ version: 1, source: `snapshot:${snapshot}` })
    await limiter.ready()
    expect(summary(limiter)).toEqual(['account=2', 'device=20', 'seckill=5'])
  })

  it('does not block start-up while Nacos is unreachable, and takes its rules once it is back', async () => {
    await server.stop()
    const { limiter } = start(writeConfig())
    expect(summary(limiter)).toEqual(['account=100', 'device=20'])
    const started = performance.now()
    await limiter.ready()
    // startupWait is 1 s; the client's own request timeout is 1 s as well.
    expect(performance.now() - started).toBeLessThan(2500)
    expect(summary(limiter)).toEqual(['account=100', 'device=20'])
    expect(existsSync(join(dir, `.diana-snapshot.${dataId}`))).toBe(false)

    const arrived = nextEvent(limiter, 'config', (e) => e.source === source(), 8000)
    await server.start()
    server.publish(dataId, GROUP, remoteRules(4))
    await arrived
    expect(summary(limiter)).toEqual(['account=4', 'device=20', 'seckill=5'])
  })

  it('goes back to the local rules when the document is deleted', async () => {
    server.publish(dataId, GROUP, remoteRules(2))
    const { limiter } = start(writeConfig())
    await nextEvent(limiter, 'config', (e) => e.source === source())
    const applied = nextEvent(limiter, 'config', (e) => e.source === source())
    server.remove(dataId, GROUP)
    await applied
    expect(summary(limiter)).toEqual(['account=100', 'device=20'])
  })
})
