import { existsSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { requirePeer } from '../../optional-peer'

type Protobuf = typeof import('protobufjs')
/** A message type of the loaded protos: `decode(bytes)` and `encode(object).finish()`. */
export type MessageType = import('protobufjs').Type

const FEATURE = 'diana serve --grpc (the Envoy rate-limit service)'
const RLS_PROTO = 'envoy/service/ratelimit/v3/rls.proto'
const PACKAGE = 'envoy.service.ratelimit.v3'

/** The RLS method's HTTP/2 `:path`. */
export const SHOULD_RATE_LIMIT_PATH = `/${PACKAGE}.RateLimitService/ShouldRateLimit`

export interface RlsMessages {
  RateLimitRequest: MessageType
  RateLimitResponse: MessageType
}

/**
 * The RLS v3 request and response types, from the protos shipped in the package's `proto/`
 * folder, with protobufjs: an optional peer dependency, loaded here (when the gRPC service
 * starts), never by the library or the adapters; a missing one is reported with the npm
 * command that installs it. Field names as written in the protos (`keepCase`, as
 * @grpc/proto-loader is used with), so the decoded objects read `hits_addend`.
 */
export function loadRlsMessages(): RlsMessages {
  const protobuf = requirePeer<Protobuf>('protobufjs', FEATURE)
  const dir = protoRoot()
  const root = new protobuf.Root()
  // Imports resolved against proto/ as @grpc/proto-loader's includeDirs does; the
  // google/protobuf ones it does not find there are protobufjs's own bundled copies.
  root.resolvePath = (_origin, target) => {
    if (isAbsolute(target)) return target
    const candidate = join(dir, target)
    return existsSync(candidate) ? candidate : target
  }
  root.loadSync(RLS_PROTO, { keepCase: true })
  root.resolveAll()
  return {
    RateLimitRequest: root.lookupType(`${PACKAGE}.RateLimitRequest`),
    RateLimitResponse: root.lookupType(`${PACKAGE}.RateLimitResponse`),
  }
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
