import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { whenResponded } from '../../../adapters/core/settle'

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

/** A server whose handler `answer` gets each response; resolves the settle verdict of the first. */
async function serve(
  answer: (res: ServerResponse) => void,
): Promise<{ url: string; settled: Promise<boolean[]> }> {
  const verdicts: boolean[] = []
  let done: (value: boolean[]) => void = () => {}
  const settled = new Promise<boolean[]>((resolve) => {
    done = resolve
  })
  const server = createServer((_req, res) => {
    whenResponded(res, (failed) => {
      verdicts.push(failed)
      // A second call would show up here before the test reads the list.
      setTimeout(() => done(verdicts), 50)
    })
    answer(res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, settled }
}

describe('whenResponded (skipFailedRequests / skipSuccessfulRequests)', () => {
  it('settles a finished response once, as failed from status 400 on', async () => {
    for (const [status, failed] of [
      [200, false],
      [399, false],
      [400, true],
      [503, true],
    ] as const) {
      const { url, settled } = await serve((res) => {
        res.statusCode = status
        res.end('x')
      })
      await (await fetch(url)).text()
      expect(await settled).toEqual([failed])
      await close?.()
      close = undefined
    }
  })

  it('never settles a response whose client went away before it finished: its unit stays counted', async () => {
    const { url, settled } = await serve(() => {
      // Never answers: the client gives up.
    })
    const abort = new AbortController()
    const request = fetch(url, { signal: abort.signal }).catch(() => 'aborted')
    setTimeout(() => abort.abort(), 50)
    expect(await request).toBe('aborted')
    const late = await Promise.race([
      settled,
      new Promise((resolve) => setTimeout(() => resolve('never'), 300)),
    ])
    expect(late).toBe('never')
  })
})
