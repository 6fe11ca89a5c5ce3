import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { requirePeer } from '../../optional-peer'

export type Grpc = typeof import('@grpc/grpc-js')
type ProtoLoader = typeof import('@grpc/proto-loader')

const FEATURE = 'diana serve --grpc (the Envoy rate-limit service)'
const RLS_PROTO = 'envoy/service/ratelimit/v3/rls.proto'

/**
 * @grpc/grpc-js and @grpc/proto-loader are optional peer dependencies: only the gRPC service
 * needs them, so they are loaded when it starts, never by the library or the adapters. A
 * missing one is reported with the npm command that installs it.
 */
export function loadGrpc(): { grpc: Grpc; loader: ProtoLoader } {
  return {
    grpc: requirePeer<Grpc>('@grpc/grpc-js', FEATURE),
    loader: requirePeer<ProtoLoader>('@grpc/proto-loader', FEATURE),
  }
}

/**
 * The service definition of `envoy.service.ratelimit.v3.RateLimitService`, from the protos
 * shipped in the package's `proto/` folder.
 */
export function rateLimitService(loader: ProtoLoader): import('@grpc/grpc-js').ServiceDefinition {
  const root = protoRoot()
  const definition = loader.loadSync(RLS_PROTO, {
    includeDirs: [root],
    // Field names as in the proto (snake_case), enums as their names, 64-bit numbers as numbers,
    // absent fields as their defaults: the handler reads plain, predictable objects.
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
    oneofs: true,
  })
  return definition[
    'envoy.service.ratelimit.v3.RateLimitService'
  ] as import('@grpc/grpc-js').ServiceDefinition
}

/**
 * The package's `proto/` folder, found by walking up from this file: the same code runs from
 * src/serve/grpc (tsx) and from a chunk somewhere in dist/.
 */
function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'proto')
    if (existsSync(join(candidate, RLS_PROTO))) return candidate
    dir = dirname(dir)
  }
  throw new Error(`${FEATURE}: the package's proto/${RLS_PROTO} is missing; reinstall diana-limiter`)
}
