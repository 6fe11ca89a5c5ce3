/**
 * The `httpclient` the `nacos` config client calls, built on Node's fetch. It answers the
 * client's urllib-style calls (`request(url, { method, data, headers, timeout })` →
 * `{ status, data, headers }`) and changes two behaviours that matter to an embedded limiter:
 *
 * - A failed request waits `retryDelayMs` before failing. The client retries a request in a
 *   tight loop until its timeout (40 s for the long poll), which spins a CPU core for as long
 *   as the server is down; the pause turns that into a steady, gentle retry.
 * - `close()` aborts what is in flight and answers every later call with "not found", so the
 *   client's loops end at once instead of retrying against a closed source.
 */
export interface NacosHttpClient {
  request(url: string, options?: NacosRequestOptions): Promise<NacosResponse>
  close(): void
}

interface NacosRequestOptions {
  method?: string
  data?: Record<string, unknown> | string
  headers?: Record<string, string>
  timeout?: number
  dataAsQueryString?: boolean
}

interface NacosResponse {
  status: number
  data: string | null
  headers: Record<string, string>
}

const CLOSED: NacosResponse = { status: 404, data: null, headers: {} }

export function createNacosHttpClient(options: {
  retryDelayMs: number
  /** Told of every failed request at once; the client itself only gives up after its timeout. */
  onFailure?: (error: Error) => void
}): NacosHttpClient {
  const closing = new AbortController()
  const signal = closing.signal
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        resolve()
      }
      signal.addEventListener('abort', done)
    })

  return {
    async request(url, { method = 'GET', data, headers = {}, timeout = 5000, dataAsQueryString } = {}) {
      if (signal.aborted) return CLOSED
      const verb = method.toUpperCase()
      const target = new URL(url)
      let body: string | undefined
      if (verb === 'GET' || verb === 'DELETE' || dataAsQueryString) {
        if (typeof data === 'string') target.search = data
        else for (const [key, value] of fields(data)) target.searchParams.append(key, value)
      } else {
        body = typeof data === 'string' ? data : new URLSearchParams(fields(data)).toString()
      }
      try {
        const response = await fetch(target, {
          method: verb,
          headers,
          body,
          signal: AbortSignal.any([signal, AbortSignal.timeout(timeout)]),
        })
        const text = await response.text()
        return { status: response.status, data: text, headers: Object.fromEntries(response.headers) }
      } catch (error) {
        if (signal.aborted) return CLOSED
        const cause = (error as { cause?: { code?: string; message?: string } }).cause
        const failure = new Error(
          `${verb} ${target.origin}${target.pathname}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
          {
            cause: error,
          },
        )
        options.onFailure?.(failure)
        await pause(options.retryDelayMs)
        if (signal.aborted) return CLOSED
        throw failure
      }
    },
    close() {
      closing.abort()
    },
  }
}

/** Form fields as strings; absent values are left out, as the Nacos server expects. */
function fields(data: Record<string, unknown> | undefined): [string, string][] {
  if (!data) return []
  return Object.entries(data)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(([key, value]) => [key, String(value)])
}
