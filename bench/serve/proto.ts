import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { importOptional } from '../optional-module'

type Grpc = typeof import('@grpc/grpc-js')
type ProtoLoader = typeof import('@grpc/proto-loader')

const RLS_PROTO = 'envoy/service/ratelimit/v3/rls.proto'

/**
 * @grpc/grpc-js and Envoy's RateLimitService from the protos the package ships, with the
 * options `diana serve` loads them with. The clients and the floor speak exactly what the
 * server does; the bench has its own loader because it must not import test code, and reports
 * a missing optional peer as `diana bench` reports its others.
 */
export async function loadRateLimitService(): Promise<{
  grpc: Grpc
  Service: import('@grpc/grpc-js').ServiceClientConstructor
}> {
  const grpc = await importOptional<Grpc>('@grpc/grpc-js', 'diana bench serve')
  const loader = await importOptional<ProtoLoader>('@grpc/proto-loader', 'diana bench serve')
  const definition = loader.loadSync(RLS_PROTO, {
    includeDirs: [protoRoot()],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
  })
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: {
      service: { ratelimit: { v3: { RateLimitService: import('@grpc/grpc-js').ServiceClientConstructor } } }
    }
  }
  return { grpc, Service: loaded.envoy.service.ratelimit.v3.RateLimitService }
}

/** The package's proto/ folder: next to dist/ when built, or the repository root. */
function protoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 4; i++) {
    const candidate = join(dir, 'proto')
    if (existsSync(join(candidate, RLS_PROTO))) return candidate
    dir = dirname(dir)
  }
  throw new Error(`the package's proto/${RLS_PROTO} is missing`)
}
