import { ConfigError } from '../config/config-error'
import { DEFAULT_HTTP_ADDRESS, type ListenAddress, parseListenAddress } from './listen-address'
import { Service } from './service'

const USAGE = 'usage: diana serve --config FILE [--http HOST:PORT] [--grpc HOST:PORT]'

const HELP = `${USAGE}

Runs a rate-limit service for gateways (docs/gateway.md): the rules of FILE, reloaded when it
changes, with its store (Redis shared by several instances) and its remote rules (Nacos).

  --config FILE, -c FILE  the diana.yaml to serve (required)
  --http HOST:PORT        the HTTP API: POST /check, GET /nginx/auth (Nginx auth_request),
                          GET /healthz, GET /metrics (default ${DEFAULT_HTTP_ADDRESS}; :PORT for
                          every interface; port 0 picks a free port)
  --grpc HOST:PORT        Envoy's rate-limit service (RLS v3, docs/gateway.md), mapping
                          descriptor entries to subjects by the file's serve.descriptors;
                          needs protobufjs

Prints "diana serve: http on HOST:PORT" once the rules are in force. SIGTERM or SIGINT: stops
taking connections, answers the calls in flight, closes the limiter and exits 0.`

/** Reads the flags: the options, or a usage message (exit 2). */
export function parseServeArgs(
  args: readonly string[],
): { config: string; http: ListenAddress; grpc?: string } | string {
  let config: string | undefined
  let http: ListenAddress | undefined
  let grpc: string | undefined
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const eq = arg.indexOf('=')
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const inline = flag === arg ? undefined : arg.slice(eq + 1)
    const value = (): string | undefined => inline ?? args[++i]
    switch (flag) {
      case '--config':
      case '-c': {
        const file = value()
        if (!file) return `${flag} needs a file`
        config = file
        break
      }
      case '--http': {
        const text = value()
        if (!text) return '--http needs HOST:PORT'
        const address = parseListenAddress(text, '--http')
        if (typeof address === 'string') return address
        http = address
        break
      }
      case '--grpc': {
        const text = value()
        if (!text) return '--grpc needs HOST:PORT'
        const address = parseListenAddress(text, '--grpc')
        if (typeof address === 'string') return address
        grpc = text
        break
      }
      default:
        return `unknown option ${JSON.stringify(arg)}`
    }
  }
  if (config === undefined) return '--config FILE is required'
  return {
    config,
    http: http ?? (parseListenAddress(DEFAULT_HTTP_ADDRESS, '--http') as ListenAddress),
    ...(grpc === undefined ? {} : { grpc }),
  }
}

async function run(args: string[]): Promise<number> {
  const options = parseServeArgs(args)
  if (typeof options === 'string') {
    process.stderr.write(`diana serve: ${options}\n${USAGE}\n`)
    return 2
  }
  // Signals are taken before the service starts, so one arriving during start still stops it.
  let stop: () => void = () => {}
  const stopped = new Promise<void>((resolve) => {
    stop = resolve
  })
  const onSignal = () => stop()
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  let service: Service
  try {
    service = await Service.start(options)
  } catch (error) {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    const message = error instanceof ConfigError || error instanceof Error ? error.message : String(error)
    process.stderr.write(`diana serve: ${message}\n`)
    return 1
  }
  const unavailable = service.metricsUnavailable
  if (unavailable !== undefined) process.stderr.write(`diana serve: ${unavailable}\n`)
  const grpc = service.grpcAddress === undefined ? '' : `, grpc on ${service.grpcAddress}`
  process.stdout.write(`diana serve: http on ${service.httpAddress}${grpc}\n`)
  await stopped
  process.off('SIGTERM', onSignal)
  process.off('SIGINT', onSignal)
  process.stdout.write('diana serve: shutting down\n')
  await service.close()
  process.stdout.write('diana serve: stopped\n')
  return 0
}

export const serveCommand = { usage: HELP, run }
