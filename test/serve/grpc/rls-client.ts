import { fileURLToPath } from 'node:url'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'

/**
 * A RateLimitService client built from the protos the package ships, sending what Envoy's
 * `envoy.filters.http.ratelimit` sends: a domain, descriptors of `{ key, value }` entries
 * (`remote_address`, `request_headers` keys, `generic_key`) and `hits_addend`.
 */
export interface Entry {
  key: string
  value: string
}

export interface Descriptor {
  entries: Entry[]
  hits_addend?: { value: number }
}

export interface RlsRequest {
  domain?: string
  descriptors?: Descriptor[]
  hits_addend?: number
}

export interface RlsReply {
  overall_code: string
  statuses: Array<{
    code: string
    current_limit: { name: string; requests_per_unit: number; unit: string } | null
    limit_remaining: number
    duration_until_reset: { seconds: number; nanos: number } | null
  }>
  response_headers_to_add: Array<{ key: string; value: string }>
}

export interface RlsClient {
  shouldRateLimit(request: RlsRequest): Promise<RlsReply>
  /** Sends `bytes` as the request message, unparsed, as a broken client would. */
  sendRaw(bytes: Buffer): Promise<unknown>
  close(): void
}

const PROTO_ROOT = fileURLToPath(new URL('../../../proto', import.meta.url))
const METHOD = '/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit'

export function rlsClient(address: string): RlsClient {
  const definition = protoLoader.loadSync('envoy/service/ratelimit/v3/rls.proto', {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    enums: String,
    longs: Number,
    defaults: true,
  })
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } }
  }
  const Service = loaded.envoy.service.ratelimit.v3.RateLimitService
  const client = new Service(address, grpc.credentials.createInsecure(), {
    // Big enough to send the oversized messages the hostile tests need.
    'grpc.max_send_message_length': 8 * 1024 * 1024,
  }) as unknown as grpc.Client & {
    ShouldRateLimit(
      request: RlsRequest,
      callback: (error: grpc.ServiceError | null, reply: RlsReply) => void,
    ): void
  }
  return {
    shouldRateLimit: (request) =>
      new Promise((resolve, reject) => {
        client.ShouldRateLimit(request, (error, reply) => (error ? reject(error) : resolve(reply)))
      }),
    sendRaw: (bytes) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          METHOD,
          (value: Buffer) => value,
          (value: Buffer) => value,
          bytes,
          (error, reply) => (error ? reject(error) : resolve(reply)),
        )
      }),
    close: () => client.close(),
  }
}
