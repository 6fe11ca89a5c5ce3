import type { RlsServer, RlsServerOptions } from './grpc/rls-server'

export type { RlsServer, RlsServerOptions }

/**
 * `diana serve --grpc`: the Envoy rate-limit service (RLS v3, `src/serve/grpc/`), imported only
 * when asked for, so that `diana serve` over HTTP never loads protobufjs. A literal import
 * rather than a path computed at run time, which the bundled build would not contain.
 */
export async function startGrpc(options: RlsServerOptions): Promise<RlsServer> {
  return (await import('./grpc/rls-server')).startRlsServer(options)
}
