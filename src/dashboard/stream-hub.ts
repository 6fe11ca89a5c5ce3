import type { IncomingMessage, ServerResponse } from 'node:http'

/** A client further behind than this (bytes queued) is cut off rather than buffered for. */
const MAX_QUEUED_BYTES = 1024 * 1024

/**
 * The open live views (server-sent events), at most `max`: each gets the whole state once, then
 * one `tick` event a second with the second just ended. One timer serves them all, running
 * only while some view is open; it fires just after each second boundary, so a view is at
 * most about a second behind.
 */
export class StreamHub {
  readonly #streams = new Set<ServerResponse>()
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(
    readonly max: number,
    readonly now: () => number,
    readonly tick: () => unknown,
  ) {}

  get size(): number {
    return this.#streams.size
  }

  /** Starts a stream with `first` as its `state` event; false when `max` are open already. */
  open(req: IncomingMessage, res: ServerResponse, first: unknown): boolean {
    if (this.#closed || this.#streams.size >= this.max) return false
    // Gone while it was being authenticated: its 'close' has fired already and would never
    // free the place.
    if (req.destroyed || res.destroyed || res.writableEnded) {
      res.destroy()
      return true
    }
    res.statusCode = 200
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8')
    res.setHeader('X-Accel-Buffering', 'no')
    res.flushHeaders()
    req.socket.setNoDelay(true)
    this.#streams.add(res)
    const forget = () => {
      this.#streams.delete(res)
      if (this.#streams.size === 0) this.#stop()
    }
    res.once('close', forget)
    req.once('close', forget)
    this.#send(res, 'state', first)
    this.#schedule()
    return true
  }

  /** Ends every stream and stops the timer. */
  close(): void {
    this.#closed = true
    this.#stop()
    for (const res of this.#streams) res.end()
    this.#streams.clear()
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#streams.size === 0) return
    // 20 ms past the next boundary: the second just ended is complete by then.
    const wait = 1000 - (this.now() % 1000) + 20
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#broadcast()
      this.#schedule()
    }, wait)
    this.#timer.unref()
  }

  #stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #broadcast(): void {
    if (this.#streams.size === 0) return
    const data = this.tick()
    for (const res of this.#streams) this.#send(res, 'tick', data)
  }

  #send(res: ServerResponse, event: string, data: unknown): void {
    if (res.writableLength > MAX_QUEUED_BYTES) {
      res.destroy()
      return
    }
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }
}
