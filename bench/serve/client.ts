import { frameMessage } from '../../src/serve/grpc/grpc-wire'
import { Histogram } from '../histogram'
import { connectChannel, type H2Channel } from './h2-client'
import { loadMessages } from './proto'
import { ADDRESSES, envoyRequest } from './workload'

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

type Call = (n: number) => Promise<string>

/** RateLimitResponse.Code by number. */
const CODES = ['UNKNOWN', 'OK', 'OVER_LIMIT']

/**
 * A client process of `diana bench serve`, standing for one Envoy: one HTTP/2 connection to
 * the service (bench/serve/h2-client.ts), `concurrency` loops each with one unary
 * ShouldRateLimit call in flight, sending the workload's requests encoded once up front.
 * Started by the benchmark with the hidden subcommand; it ends when the benchmark goes away.
 */
export async function serve(): Promise<number> {
  const send = process.send?.bind(process)
  if (!send) {
    process.stderr.write('diana bench: the serve client process must be started by "diana bench serve"\n')
    return 2
  }
  const { RateLimitRequest, RateLimitResponse } = loadMessages()
  // Call n sends request n % ADDRESSES: the workload repeats with that period.
  const requests = Array.from({ length: ADDRESSES }, (_, n) =>
    frameMessage(RateLimitRequest.encode(envoyRequest(n) as object).finish()),
  )
  /** overall_code of a reply: field 1 comes first as protobufjs and Go's encoder write it. */
  const codeOf = (reply: Buffer): string => {
    if (reply[0] === 0x08 && (reply[1] as number) < 0x80) return CODES[reply[1] as number] ?? 'UNKNOWN'
    const decoded = RateLimitResponse.toObject(RateLimitResponse.decode(reply), { enums: String })
    return String(decoded.overall_code ?? 'UNKNOWN')
  }
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
      const channel = connectChannel(message.address)
      call = callOf(channel, requests, codeOf)
      closePrevious = () => channel.close()
      // The first call opens the connection, so connecting is not timed.
      await call(message.offset)
      return { type: 'ready' }
    }
    if (!call || !prepared) throw new Error('"go" before "prepare"')
    return { type: 'done', result: await drive(call, prepared, message) }
  }
  return new Promise<number>(() => {})
}

function callOf(channel: H2Channel, requests: readonly Buffer[], codeOf: (reply: Buffer) => string): Call {
  return async (n) => codeOf(await channel.call(requests[n % requests.length] as Buffer))
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
        const code = await call(next++)
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
