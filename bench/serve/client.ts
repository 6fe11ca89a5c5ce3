import { Histogram } from '../histogram'
import { loadRateLimitService } from './proto'
import { envoyRequest } from './workload'

type Grpc = typeof import('@grpc/grpc-js')
// A call not answered in this long counts as an error, so a stuck server cannot hang the run.
const CALL_DEADLINE_MS = 5000

/** Messages between `diana bench serve` and a client process. */
export type ToClient =
  | { type: 'prepare'; address: string; concurrency: number; offset: number }
  | { type: 'go'; startAt: number; durationMs: number }
export type FromClient =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'done'; result: ClientResult }

/** What one client process did in one sample. */
export interface ClientResult {
  calls: number
  ok: number
  overLimit: number
  errors: number
  /** The first error's message, if any. */
  firstError: string | undefined
  elapsedMs: number
  /** CPU time this process spent over the sample, µs (user + system). */
  cpuUs: number
  /** Latency of every call, ns buckets (bench/histogram.ts). */
  latency: [number, number][]
}

type Call = (
  request: unknown,
  options: { deadline: number },
  callback: (error: Error | null, reply: { overall_code: string }) => void,
) => void

/**
 * A client process of `diana bench serve`, standing for one Envoy: one HTTP/2 channel to the
 * service, `concurrency` loops each with one unary ShouldRateLimit call in flight. Started by
 * the benchmark with the hidden subcommand; it ends when the benchmark goes away.
 */
export async function serve(): Promise<number> {
  const send = process.send?.bind(process)
  if (!send) {
    process.stderr.write('diana bench: the serve client process must be started by "diana bench serve"\n')
    return 2
  }
  const { grpc, Service } = await loadRateLimitService()
  let call: Call | undefined
  let closePrevious = () => {}
  let prepared: Extract<ToClient, { type: 'prepare' }> | undefined
  process.on('disconnect', () => process.exit(0))
  process.on('message', (message: ToClient) => {
    void handle(message).then(send, (error: unknown) =>
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) }),
    )
  })

  async function handle(message: ToClient): Promise<FromClient> {
    if (message.type === 'prepare') {
      prepared = message
      closePrevious()
      ;({ call, close: closePrevious } = connect(grpc, Service, message.address))
      // The first call opens the channel, so connecting is not timed.
      await once(call, envoyRequest(message.offset))
      return { type: 'ready' }
    }
    if (!call || !prepared) throw new Error('"go" before "prepare"')
    return { type: 'done', result: await drive(call, prepared, message) }
  }
  return new Promise<number>(() => {})
}

function connect(
  grpc: Grpc,
  Service: import('@grpc/grpc-js').ServiceClientConstructor,
  address: string,
): { call: Call; close: () => void } {
  const client = new Service(address, grpc.credentials.createInsecure())
  const method = (client as unknown as { ShouldRateLimit: Call }).ShouldRateLimit
  return { call: method.bind(client), close: () => client.close() }
}

function once(call: Call, request: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    call(request, { deadline: Date.now() + CALL_DEADLINE_MS }, (error, reply) =>
      error ? reject(error) : resolve(reply.overall_code),
    )
  })
}

async function drive(
  call: Call,
  prepared: { concurrency: number; offset: number },
  go: { startAt: number; durationMs: number },
): Promise<ClientResult> {
  const wait = go.startAt - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const histogram = new Histogram()
  const result: ClientResult = {
    calls: 0,
    ok: 0,
    overLimit: 0,
    errors: 0,
    firstError: undefined,
    elapsedMs: 0,
    cpuUs: 0,
    latency: [],
  }
  let next = prepared.offset
  let stop = false
  const start = performance.now()
  const cpu = process.cpuUsage()
  const timer = setTimeout(() => {
    stop = true
  }, go.durationMs)
  const loop = async (): Promise<void> => {
    while (!stop) {
      const t0 = performance.now()
      try {
        const code = await once(call, envoyRequest(next++))
        if (code === 'OVER_LIMIT') result.overLimit++
        else result.ok++
      } catch (error) {
        result.errors++
        result.firstError ??= error instanceof Error ? error.message : String(error)
      }
      histogram.record((performance.now() - t0) * 1e6)
      result.calls++
    }
  }
  try {
    await Promise.all(Array.from({ length: prepared.concurrency }, loop))
  } finally {
    clearTimeout(timer)
  }
  result.elapsedMs = performance.now() - start
  const used = process.cpuUsage(cpu)
  result.cpuUs = used.user + used.system
  result.latency = histogram.toBuckets()
  return result
}
