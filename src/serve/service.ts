import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HeaderStyle } from '../../adapters/core/headers'
import type { ServeConfig } from '../config/serve-schema'
import { createLimiter, type Limiter } from '../limiter'
import type { Logger } from '../logger'
import { type DianaMetrics, dianaMetrics } from '../metrics'
import { loadPromClient } from '../metrics/load-prom-client'
import { MissingPeerError } from '../optional-peer'
import { type RlsServer, startGrpc } from './grpc-seam'
import { HttpApi } from './http-api'
import { formatListenAddress, type ListenAddress } from './listen-address'

/**
 * The long-running part of `diana serve`: one limiter built from the config file exactly as
 * `createLimiter({ config })` builds it (hot reload, Nacos, the Redis store with its fallback),
 * the HTTP API in front of it, and the gRPC server once there is one. It owns all three and
 * closes them in order.
 */

export interface ServiceOptions {
  config: string
  http: ListenAddress
  /** `HOST:PORT` for the gRPC API. */
  grpc?: string
  logger?: Logger
}

/** Bounds of the HTTP server: a client cannot hold a connection or memory for long. */
export const HTTP_LIMITS = {
  /** All headers of a request, in bytes (a check needs a few hundred). */
  maxHeaderSize: 16 * 1024,
  /** Time to receive a request's headers, in ms: slowloris clients are cut off after it. */
  headersTimeoutMs: 5_000,
  /** Time to receive a whole request, in ms. */
  requestTimeoutMs: 10_000,
  /** An idle keep-alive connection is closed after this, in ms. */
  keepAliveTimeoutMs: 5_000,
  /** Open connections at most; further ones are refused until some close. */
  maxConnections: 10_000,
  /** How long shutdown waits for calls in flight, in ms, before it cuts connections. */
  drainMs: 10_000,
} as const

/** Node's parser errors that have a status of their own; any other is a 400. */
const CLIENT_ERROR_STATUS: Record<string, string> = {
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
}

interface ServiceMetrics {
  registry: { metrics(): Promise<string>; contentType: string }
  handle: DianaMetrics
}

export class Service {
  readonly limiter: Limiter
  readonly #server: Server
  readonly #metrics: ServiceMetrics | string
  readonly #api: HttpApi
  #grpc: RlsServer | undefined
  #ready = false
  #draining = false
  #closing: Promise<void> | undefined

  private constructor(limiter: Limiter) {
    this.limiter = limiter
    this.#metrics = startMetrics(limiter)
    const file = limiter.config
    const api = new HttpApi({
      limiter,
      headers: (file?.response?.headers ?? 'draft') as HeaderStyle,
      ready: () => this.#ready && !this.#draining,
      draining: () => this.#draining,
      metrics: () => {
        const metrics = this.#metrics
        if (typeof metrics === 'string') return metrics
        return metrics.registry
          .metrics()
          .then((text) => ({ contentType: metrics.registry.contentType, text }))
      },
    })
    this.#api = api
    this.#server = createServer(
      {
        maxHeaderSize: HTTP_LIMITS.maxHeaderSize,
        headersTimeout: HTTP_LIMITS.headersTimeoutMs,
        requestTimeout: HTTP_LIMITS.requestTimeoutMs,
        keepAliveTimeout: HTTP_LIMITS.keepAliveTimeoutMs,
        // Node checks the two timeouts above this often (30 s by default, far past them).
        connectionsCheckingInterval: 1_000,
      },
      api.handle,
    )
    this.#server.maxConnections = HTTP_LIMITS.maxConnections
    // A client that resets its connection or sends garbage is its own problem, never the process's.
    this.#server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) {
        socket.destroy()
        return
      }
      const status = CLIENT_ERROR_STATUS[error.code ?? ''] ?? '400 Bad Request'
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    })
  }

  /**
   * Builds the limiter (throws its ConfigError for a bad file), listens, waits for the rules
   * (remote ones, up to their startup wait), and starts the gRPC server when asked for.
   */
  static async start(options: ServiceOptions): Promise<Service> {
    const limiter = createLimiter({
      config: options.config,
      ...(options.logger ? { logger: options.logger } : {}),
    })
    const service = new Service(limiter)
    try {
      await service.#listen(options.http)
      if (options.grpc !== undefined) await service.#startGrpc(options.grpc)
      await limiter.ready()
    } catch (error) {
      await service.close()
      throw error
    }
    service.#ready = true
    return service
  }

  /** `HOST:PORT` the HTTP API listens on, with the port chosen for port 0. */
  get httpAddress(): string {
    const bound = this.#server.address() as AddressInfo
    return formatListenAddress({ host: bound.address, port: bound.port })
  }

  get grpcAddress(): string | undefined {
    return this.#grpc?.address
  }

  /** Why /metrics answers 501, or undefined when it works. */
  get metricsUnavailable(): string | undefined {
    return typeof this.#metrics === 'string' ? this.#metrics : undefined
  }

  #listen(address: ListenAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = this.#server
      const failed = (error: Error) => reject(error)
      server.once('error', failed)
      server.listen(address.port, address.host, () => {
        server.off('error', failed)
        resolve()
      })
    })
  }

  async #startGrpc(address: string): Promise<void> {
    const serve = (this.limiter.config as { serve?: ServeConfig } | undefined)?.serve
    this.#grpc = await startGrpc({
      address,
      limiter: this.limiter,
      descriptors: serve?.descriptors ?? {},
      ...(serve?.domains ? { domains: serve.domains } : {}),
    })
  }

  /**
   * Graceful stop: /healthz turns 503, no new connections are taken, calls in flight are
   * answered (idle keep-alive connections are closed at once, busy ones after their answer),
   * then the limiter closes; the Redis state stays in Redis. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    this.#draining = true
    const server = this.#server
    const closed = new Promise<void>((resolve) => {
      if (!server.listening) return resolve()
      server.close(() => resolve())
    })
    server.closeIdleConnections()
    this.#api.close()
    const cutOff = setTimeout(() => server.closeAllConnections(), HTTP_LIMITS.drainMs)
    cutOff.unref()
    await Promise.all([closed, this.#grpc?.close()])
    clearTimeout(cutOff)
    if (typeof this.#metrics !== 'string') this.#metrics.handle.stop()
    await this.limiter.close()
  }
}

/** Metrics on a registry of the service's own, or why there are none (prom-client missing). */
function startMetrics(limiter: Limiter): ServiceMetrics | string {
  try {
    const client = loadPromClient()
    const registry = new client.Registry()
    const handle = dianaMetrics(limiter, { registry })
    return { registry, handle }
  } catch (error) {
    if (error instanceof MissingPeerError) {
      return '/metrics needs the optional peer prom-client: npm install prom-client'
    }
    throw error
  }
}
