import { Agent, request } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'

/** The responses of one measured interval. */
export class StepRecorder {
  readonly startMs = performance.now()
  /** Latencies of the admitted (200) responses, in ms. */
  readonly admittedMs: number[] = []
  shed = 0
  errors = 0
}

/**
 * Closed-loop clients against the service on `port`: each sends a request, waits for the
 * answer, thinks for `thinkMs`, and sends the next, whether its request was served or shed.
 * The number of clients sets the offered load; a client never has more than one request out,
 * and each keeps its own keep-alive socket (the agent's sockets are capped at the most clients).
 */
export class ClosedLoop {
  readonly #port: number
  readonly #thinkMs: number
  readonly #agent: Agent
  readonly #running: Promise<void>[] = []
  #target = 0
  /** Where responses are counted while a step is measured. */
  recorder: StepRecorder | undefined

  constructor(port: number, thinkMs: number, maxClients: number) {
    this.#port = port
    this.#thinkMs = thinkMs
    this.#agent = new Agent({ keepAlive: true, maxSockets: maxClients, maxFreeSockets: maxClients })
  }

  /** Runs `clients` clients from now on: new ones start spread over one cycle, extra ones stop. */
  setClients(clients: number): void {
    this.#target = clients
    for (let id = this.#running.length; id < clients; id++) this.#running.push(this.#client(id))
  }

  /** Stops every client once its request in flight is answered. */
  async stop(): Promise<void> {
    this.#target = 0
    await Promise.all(this.#running)
    this.#agent.destroy()
  }

  async #client(id: number): Promise<void> {
    // Spread over a cycle, so a step does not begin with every new client arriving at once.
    await sleep(Math.random() * 2 * this.#thinkMs)
    for (;;) {
      // A client beyond the target waits for the target to come back up, or for stop().
      if (id >= this.#target) {
        if (this.#target === 0) return
        await sleep(this.#thinkMs)
        continue
      }
      const start = performance.now()
      const status = await this.#get()
      const latencyMs = performance.now() - start
      const recorder = this.recorder
      if (recorder) {
        if (status === 200) recorder.admittedMs.push(latencyMs)
        else if (status === 503 || status === 429) recorder.shed += 1
        else recorder.errors += 1
      }
      await sleep(this.#thinkMs)
    }
  }

  /** One GET; its status, or 0 when the connection failed. */
  #get(): Promise<number> {
    return new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port: this.#port, path: '/', agent: this.#agent }, (res) => {
        res.on('end', () => resolve(res.statusCode ?? 0))
        res.on('error', () => resolve(0))
        res.resume()
      })
      req.on('error', () => resolve(0))
      req.end()
    })
  }
}

/** One request at a time, `count` times: the service's latency when nothing else is in it. */
export async function unloadedLatencies(port: number, count: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  const latencies: number[] = []
  try {
    for (let i = 0; i < count; i++) {
      const start = performance.now()
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.on('end', () => resolve(res.statusCode ?? 0))
          res.resume()
        })
        req.on('error', reject)
        req.end()
      })
      if (status !== 200) throw new Error(`the bare service answered ${status} to a lone request`)
      latencies.push(performance.now() - start)
    }
  } finally {
    agent.destroy()
  }
  return latencies
}
