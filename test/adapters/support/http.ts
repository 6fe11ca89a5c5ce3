/** One real HTTP exchange, reduced to what the tests compare. */
export interface Reply {
  status: number
  headers: Headers
  body: string
}

export async function send(
  url: string,
  init: { method?: string; headers?: Record<string, string>; signal?: AbortSignal } = {},
): Promise<Reply> {
  const response = await fetch(url, init)
  return { status: response.status, headers: response.headers, body: await response.text() }
}

/** The rate-limit headers of a reply, for comparing whole sets at once. */
export function limitHeaders(reply: Reply): Record<string, string> {
  const picked: Record<string, string> = {}
  for (const name of [
    'ratelimit-policy',
    'ratelimit',
    'retry-after',
    'x-ratelimit-limit',
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
  ]) {
    const value = reply.headers.get(name)
    if (value !== null) picked[name] = value
  }
  return picked
}

/** A clock that stands still unless moved: windows and buckets are exactly predictable. */
export function fakeClock(start = 1_700_000_040_000): { now: () => number; advance(ms: number): void } {
  let now = start
  return {
    now: () => now,
    advance(ms) {
      now += ms
    },
  }
}
