import { SHOULD_RATE_LIMIT_PATH } from '../../src/serve/grpc/load-proto'
import { startUnaryServer } from '../../src/serve/grpc/unary-server'
import { loadMessages } from './proto'

// The answer diana serve gives an allowed call of the workload, minus the limiter's figures.
const REPLY = { overall_code: 1, statuses: [{ code: 1 }, { code: 1 }] }

/**
 * The floor of `diana bench serve`: diana serve's own gRPC server (src/serve/grpc/unary-server.ts,
 * the same framing and bounds) decoding each request and answering a constant OK, no limiter,
 * so the ratio of a store to the floor is what Diana's mapping, check and answer cost.
 * Prints where it listens as `diana serve` does.
 */
export async function serve(): Promise<number> {
  const { RateLimitRequest, RateLimitResponse } = loadMessages()
  const server = await startUnaryServer({
    address: '127.0.0.1:0',
    methods: new Map([
      [
        SHOULD_RATE_LIMIT_PATH,
        (message, call) => {
          RateLimitRequest.decode(message)
          call.ok(RateLimitResponse.encode(REPLY).finish())
        },
      ],
    ]),
  })
  process.stdout.write(`diana bench serve floor: grpc on ${server.address}\n`)
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)))
  return new Promise<number>(() => {})
}
