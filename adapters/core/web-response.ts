import type { RawResponse } from './raw-response'

type Event = 'close' | 'finish'

/**
 * The life of a Web-standard `Response` (Bun, Deno, edge runtimes) as the core follows a Node
 * response's: `finish` once its body has been read to the end, `close` after that or as soon as
 * the client goes away (the request's abort signal), the body stream is cancelled or fails.
 * Node's `ServerResponse` says when the last byte left; a Web runtime only says when it pulled
 * the last chunk of the body, which is the nearest it shows. Listeners are kept by hand rather
 * than through `node:events`, which not every edge runtime has.
 */
export class WebResponse implements RawResponse {
  destroyed = false
  closed = false
  writableEnded = false
  writableFinished = false
  statusCode = 200
  readonly socket: { destroyed: boolean; readonly localAddress: undefined; remoteAddress: string | undefined }
  #close: (() => void)[] = []
  #finish: (() => void)[] = []

  /** `signal`: the request's, aborted when its client goes away (where the runtime does so). */
  constructor(signal: AbortSignal | undefined, remoteAddress: string | undefined) {
    this.socket = { destroyed: false, localAddress: undefined, remoteAddress }
    if (signal === undefined) return
    if (signal.aborted) this.#abandon()
    else signal.addEventListener('abort', () => this.#abandon(), { once: true })
  }

  /** Whether anything waits for the end of the response (a permit, a refund). */
  get watched(): boolean {
    return this.#close.length > 0 || this.#finish.length > 0
  }

  once(event: Event, listener: () => void): this {
    if (event === 'close' ? this.closed : this.writableFinished) queueMicrotask(listener)
    else (event === 'close' ? this.#close : this.#finish).push(listener)
    return this
  }

  off(event: Event, listener: () => void): this {
    const list = event === 'close' ? this.#close : this.#finish
    const at = list.indexOf(listener)
    if (at >= 0) list.splice(at, 1)
    return this
  }

  /**
   * The response the handler gave: its status, and its body followed to the end. Gives the
   * response to send in its place (with the followed body), or the same one when nothing
   * waits for its end. `bodiless`: the body will not be sent (a HEAD request), so nothing will
   * read or cancel it and the response is over now.
   */
  follow(response: Response, bodiless = false): Response {
    this.statusCode = response.status
    if (this.closed) return response
    const body = response.body
    if (body === null || bodiless) {
      this.#finished()
      return response
    }
    if (!this.watched) return response
    const reader = body.getReader()
    const followed = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const { done, value } = await reader.read()
          if (done) {
            controller.close()
            this.#finished()
          } else controller.enqueue(value)
        } catch (error) {
          controller.error(error)
          this.#abandon()
        }
      },
      cancel: (reason) => {
        this.#abandon()
        return reader.cancel(reason)
      },
    })
    return new Response(followed, response)
  }

  /** The response will never be sent (the handler failed past the framework). */
  abandon(): void {
    this.#abandon()
  }

  #finished(): void {
    if (this.closed) return
    this.writableEnded = true
    this.writableFinished = true
    this.#emit(this.#finish)
    this.#finish = []
    this.#closed()
  }

  #abandon(): void {
    if (this.closed) return
    this.destroyed = true
    this.socket.destroyed = true
    this.#closed()
  }

  #closed(): void {
    this.closed = true
    const listeners = this.#close
    this.#close = []
    this.#finish = []
    this.#emit(listeners)
  }

  #emit(listeners: (() => void)[]): void {
    for (const listener of listeners) {
      try {
        listener()
      } catch {
        // The core's listeners do not throw; one that did must not stop the others.
      }
    }
  }
}
