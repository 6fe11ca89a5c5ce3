import type { Limiter } from '../limiter'

/**
 * Where `diana serve --grpc` meets the Envoy rate-limit service (RLS v3), which is built
 * separately (issue 17). This file is the whole seam: the module `src/serve/grpc/rls-server.ts`
 * must export {@link StartRlsServer} as `startRlsServer`, and {@link loadRlsServer} then returns
 * `import('./grpc/rls-server')`. It is a literal import rather than a probe for the file
 * because the build bundles modules: a path computed at run time would not be in `dist/`.
 */

export interface RlsServerOptions {
  /** `HOST:PORT` as given to `--grpc`. */
  address: string
  limiter: Limiter
  /** The file's `serve.descriptors`: descriptor entry key → subject field. */
  descriptors: Record<string, string>
  /** The file's `serve.domains`; undefined answers every domain. */
  domains?: string[]
}

export interface RlsServer {
  /** The address bound, with the port the system chose for port 0. */
  address: string
  /** Stops accepting calls, answers those in flight, then resolves. */
  close(): Promise<void>
}

export type StartRlsServer = (options: RlsServerOptions) => Promise<RlsServer>

export const GRPC_UNAVAILABLE = 'gRPC is not available in this build yet (issue 17); serve HTTP with --http'

/** The gRPC server's start, or undefined while this build has none. */
export async function loadRlsServer(): Promise<StartRlsServer | undefined> {
  // When src/serve/grpc/rls-server.ts lands: return (await import('./grpc/rls-server')).startRlsServer
  return undefined
}
