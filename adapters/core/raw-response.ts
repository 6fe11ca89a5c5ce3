/**
 * What the core needs of a response to follow its life: Node's `ServerResponse` has it as it
 * is; Web-standard runtimes (Bun, Deno, edge) get it from {@link WebResponse} in
 * web-response.ts. Typed structurally, so the core imports nothing of `node:http`.
 */
export interface RawResponse {
  /** The connection was torn down (the client went away) before the response was sent. */
  readonly destroyed: boolean
  /** The response is over (`close` has been emitted). */
  readonly closed: boolean
  readonly writableEnded: boolean
  /** The response was sent in full. */
  readonly writableFinished: boolean
  readonly statusCode: number
  /** Null once the connection is gone, or where the runtime shows none. */
  readonly socket: {
    readonly destroyed: boolean
    readonly localAddress?: string | undefined
    readonly remoteAddress?: string | undefined
  } | null
  /** `finish`: sent in full; `close`: over, sent or not (always last). */
  once(event: 'close' | 'finish', listener: () => void): unknown
  off(event: 'close' | 'finish', listener: () => void): unknown
}
