import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Rule } from '../../src/rules/rule'
import { frameworks, startsApps } from '../adapters/support/apps'
import { fakeClock, send, sendThenReset } from '../adapters/support/http'

// Issue 11: a client that resets its connection (TCP RST) right after sending a request left
// the server with no client address, so address-keyed rules did not apply and the handler
// still ran: unlimited work for anyone willing to throw their connections away.
const perDevice: Rule = {
  name: 'per-device',
  dimension: 'device',
  algorithm: 'fixed-window',
  limit: 3,
  window: '1m',
}

describe.each(frameworks)('$name: requests from connections reset at once', (framework) => {
  const start = startsApps(framework)

  it.each([
    ['mounted on the routes', false],
    ['mounted app-wide', true],
  ])('%s: 30 reset connections run the handler at most limit (3) times', async (_how, appWide) => {
    const { url, hits } = await start({ options: { rules: [perDevice], clock: fakeClock().now }, appWide })
    for (let i = 0; i < 30; i++) await sendThenReset(url, '/api/seckill/1', { method: 'POST' })
    // A request on a fresh connection, answered after the reset ones have been read.
    await send(`${url}/health`, { headers: { 'x-device-id': 'probe' } })
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(hits.get('/api/seckill/:sku') ?? 0).toBeLessThanOrEqual(3)
  })

  it('clients on a Unix socket (no address, connection alive) share one address bucket', async () => {
    const socketPath = join(tmpdir(), `diana-${process.pid}-${framework.name.replace(' ', '')}.sock`)
    await start({ options: { rules: [perDevice], clock: fakeClock().now }, socketPath })
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push(await statusOver(socketPath, '/health'))
    expect(statuses).toEqual([200, 200, 200, 429, 429])
  })
})

function statusOver(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, headers: { connection: 'close' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}
