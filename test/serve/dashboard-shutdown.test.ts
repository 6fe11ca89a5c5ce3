/**
 * `diana serve` stops promptly with a dashboard page open: its live stream (which never ends on
 * its own) is ended cleanly when shutdown begins, rather than held until the drain cut-off
 * destroys the connection.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Service } from '../../src/serve/service'

const TOKEN = 'serve-dashboard-token-0123456789'

describe('diana serve: shutdown with a dashboard open', () => {
  const saved = process.env.DIANA_DASHBOARD_TOKEN
  let dir: string | undefined
  afterEach(() => {
    if (saved === undefined) delete process.env.DIANA_DASHBOARD_TOKEN
    else process.env.DIANA_DASHBOARD_TOKEN = saved
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('ends the live stream cleanly as soon as it begins to stop', async () => {
    dir = mkdtempSync(join(tmpdir(), 'diana-serve-dash-'))
    const file = join(dir, 'diana.yaml')
    writeFileSync(
      file,
      'version: 1\nrules:\n  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 1, window: 1h }\n',
    )
    process.env.DIANA_DASHBOARD_TOKEN = TOKEN
    const service = await Service.start({ config: file, http: { host: '127.0.0.1', port: 0 } })
    const res = await fetch(`http://${service.httpAddress}/dashboard/api/stream`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(res.status).toBe(200)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    const closing = service.close()
    // A clean end of the chunked body, not a connection cut off by the drain time-out (which
    // the reader would see as an error).
    let ended: 'done' | 'cut' = 'cut'
    try {
      for (;;) {
        const { done } = await reader.read()
        if (done) {
          ended = 'done'
          break
        }
      }
    } catch {
      ended = 'cut'
    }
    expect(ended).toBe('done')
    await closing
  }, 20_000)
})
