import type { ParseResult } from './parse-config'

/**
 * Where configuration documents come from. Like Sentinel's data sources, a source is split in
 * three: `read` fetches the current raw text, `convert` turns text into a validated document,
 * and `listen` pushes each new text. The engine (`LiveConfig`) owns everything else:
 * de-duplication, precedence, the snapshot of the last good document, events and logging. So a
 * new centre (etcd, Consul, an HTTP URL) is one small class and no engine change; see
 * docs/configuration.md.
 *
 * @typeParam T the validated document; remote sources produce a `RemoteDocument`.
 */
export interface ConfigSource<T> {
  /** Starts every message about this source: a file path, `nacos:DEFAULT_GROUP/diana-rules.yaml`. */
  readonly name: string
  /**
   * The current raw document, or undefined when the source holds none (not published, or
   * deleted). Rejects when the source cannot be reached.
   */
  read(): Promise<string | undefined>
  /**
   * Validates one raw document as a whole, with positions in its messages.
   * @param name starts the messages instead of {@link name} (e.g. the snapshot file's path)
   */
  convert(text: string, name?: string): ParseResult<T>
  /**
   * {@link convert} off the event loop (`parseRemoteDocumentAsync`). Optional; when present the
   * engine uses it for every document pushed or changed after start, so a hostile one within
   * the size limit cannot stall the host while it is parsed.
   */
  convertAsync?(text: string, name?: string): Promise<ParseResult<T>>
  /**
   * Starts pushing: `onText` with each new raw document (repeats are fine, the engine ignores
   * them), `onError` when the source fails (unreachable, timed out). Keeps retrying by itself.
   */
  listen(onText: (text: string | undefined) => void, onError: (error: Error) => void): void
  /** Stops pushing and releases files, sockets and timers. */
  close(): Promise<void>
}

/** A remote source with what the engine needs to keep its last good document. */
export interface RemoteSourceOptions {
  /**
   * File keeping the last good document, used at start while the source is unreachable.
   * Absent: no snapshot.
   */
  snapshot?: string
  /**
   * Largest document taken, in bytes; the snapshot is read no further than that.
   * @default 262_144 (256 KiB)
   */
  maxBytes?: number | undefined
  /**
   * How long `limiter.ready()` waits for this source's first answer, in ms.
   * @default 2000
   */
  startupWaitMs?: number
}
