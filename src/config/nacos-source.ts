import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { requirePeer } from '../optional-peer'
import type { NacosConfig, RemoteDocument } from './config-schema'
import type { ConfigSource } from './config-source'
import { createNacosHttpClient, type NacosHttpClient } from './nacos-http-client'
import { type ParseResult, parseRemoteDocument, parseRemoteDocumentAsync } from './parse-config'

export interface NacosSourceOptions extends Omit<NacosConfig, 'snapshot' | 'startupWait' | 'timeout'> {
  /** Timeout of one request, in ms. @default 3000 */
  timeoutMs?: number
  /** Pause before a failed request is retried, in ms. @default 1000 */
  retryDelayMs?: number
  /** Absolute path of the snapshot of the last good document; see `RemoteSourceOptions`. */
  snapshot?: string
  /** How long `limiter.ready()` waits for the first answer, in ms. @default 2000 */
  startupWaitMs?: number
  /**
   * The Nacos client's own cache of fetched documents (it falls back to them when the server
   * is down). Diana keeps its own snapshot of the last *good* document; this one is secondary.
   * @default `.diana-nacos-cache` next to the snapshot, else in the system temporary directory
   */
  cacheDir?: string
  /**
   * Largest document taken, in bytes; a larger one is rejected before it is parsed.
   * @default 262_144 (256 KiB, `DEFAULT_MAX_CONFIG_BYTES`)
   */
  maxBytes?: number | undefined
}

const NACOS_FEATURE = 'The Nacos configuration source (remote.nacos)'

/** The part of the `nacos` package used here. */
interface NacosModule {
  NacosConfigClient: new (options: Record<string, unknown>) => ConfigClient
}

/** The subset of the `nacos` package's `NacosConfigClient` used here. */
interface ConfigClient {
  getConfig(dataId: string, group: string): Promise<string | null>
  subscribe(info: { dataId: string; group: string }, listener: (content: string | null) => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  close(): unknown
}

/**
 * The rules document in Nacos, read with the `nacos` package's `NacosConfigClient`: `read` is
 * `getConfig`, `listen` is `subscribe` (long polling, compared by MD5). The package is loaded
 * on first use, so limiters without a remote never load it.
 */
export class NacosSource implements ConfigSource<RemoteDocument> {
  readonly name: string
  readonly snapshot: string | undefined
  readonly startupWaitMs: number | undefined
  readonly maxBytes: number | undefined
  readonly #options: NacosSourceOptions
  readonly #nacos: NacosModule
  readonly #group: string
  readonly #http: NacosHttpClient
  #client: Promise<ConfigClient> | undefined
  #onError: ((error: Error) => void) | undefined
  #closed = false

  constructor(options: NacosSourceOptions) {
    // Loaded now, so a missing package is an error at createLimiter rather than a source that
    // silently never answers; connected on first use.
    this.#nacos = requirePeer<NacosModule>('nacos', NACOS_FEATURE)
    this.#options = options
    this.#group = options.group ?? 'DEFAULT_GROUP'
    this.name = `nacos:${options.namespace ? `${options.namespace}/` : ''}${this.#group}/${options.dataId}`
    this.snapshot = options.snapshot
    this.startupWaitMs = options.startupWaitMs
    this.maxBytes = options.maxBytes
    this.#http = createNacosHttpClient({
      retryDelayMs: options.retryDelayMs ?? 1000,
      onFailure: (error) => {
        if (!this.#closed) this.#onError?.(error)
      },
    })
  }

  async read(): Promise<string | undefined> {
    const client = await this.#connect()
    return (await client.getConfig(this.#options.dataId, this.#group)) ?? undefined
  }

  convert(text: string, name = this.name): ParseResult<RemoteDocument> {
    return parseRemoteDocument(text, name, { maxBytes: this.#options.maxBytes })
  }

  convertAsync(text: string, name = this.name): Promise<ParseResult<RemoteDocument>> {
    return parseRemoteDocumentAsync(text, name, { maxBytes: this.#options.maxBytes })
  }

  listen(onText: (text: string | undefined) => void, onError: (error: Error) => void): void {
    this.#onError = onError
    this.#connect().then(
      (client) => {
        if (this.#closed) return
        client.subscribe({ dataId: this.#options.dataId, group: this.#group }, (content) =>
          onText(content ?? undefined),
        )
      },
      (error: Error) => onError(error),
    )
  }

  async close(): Promise<void> {
    this.#closed = true
    this.#http.close()
    const client = this.#client
    if (client) await client.then((c) => c.close()).catch(() => undefined)
  }

  #connect(): Promise<ConfigClient> {
    this.#client ??= Promise.resolve().then(() => {
      const { NacosConfigClient } = this.#nacos
      const { serverAddr, namespace, username, password } = this.#options
      const client = new NacosConfigClient({
        serverAddr,
        namespace: namespace ?? '',
        username,
        password,
        requestTimeout: this.#options.timeoutMs ?? 3000,
        cacheDir:
          this.#options.cacheDir ??
          join(this.snapshot ? dirname(this.snapshot) : tmpdir(), '.diana-nacos-cache'),
        httpclient: this.#http,
        cluster: inProcess,
      })
      client.on('error', (error) => {
        if (!this.#closed) this.#onError?.(error)
      })
      return client
    })
    return this.#client
  }
}

/**
 * By default the client elects one leader process per host over TCP port 7777 and every other
 * process on the host, whatever its serverAddr, reads through that leader. One client per
 * limiter, in process, is what a library embedded in unrelated services needs.
 */
function inProcess(ClientClass: new (...args: unknown[]) => unknown) {
  return {
    delegate() {
      return this
    },
    create: (...args: unknown[]) => new ClientClass(...args),
  }
}
