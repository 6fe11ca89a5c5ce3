import { loadRateLimitService } from './proto'

// The answer diana serve gives an allowed call of the workload, minus the limiter's figures.
const REPLY = { overall_code: 'OK', statuses: [{ code: 'OK' }, { code: 'OK' }] }

/**
 * The floor of `diana bench serve`: @grpc/grpc-js with the same service and message bounds
 * answering every call with a constant OK, so the run shows what gRPC alone costs on this
 * machine next to what `diana serve` adds. Prints where it listens as `diana serve` does.
 */
export async function serve(): Promise<number> {
  const { grpc, Service } = await loadRateLimitService()
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 64 * 1024,
    'grpc.max_concurrent_streams': 1024,
  })
  server.addService(Service.service, {
    ShouldRateLimit: (_call: unknown, callback: (error: null, reply: typeof REPLY) => void) =>
      callback(null, REPLY),
  })
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  )
  process.stdout.write(`diana bench serve floor: grpc on 127.0.0.1:${port}\n`)
  process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)))
  return new Promise<number>(() => {})
}
