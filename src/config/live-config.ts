import { createHash } from 'node:crypto'
import { errorReason } from '../error-reason'
import type { Logger } from '../logger'
import type { Rule } from '../rules/rule'
import { ConfigError } from './config-error'
import type { DianaConfig, RemoteDocument } from './config-schema'
import type { ConfigSource, RemoteSourceOptions } from './config-source'
import { mergeRules } from './merge-rules'
import type { ParseResult } from './parse-config'
import { SnapshotFile } from './snapshot-file'

/** Payload of the limiter's `config` event: a rule set was put in force. */
export interface ConfigEvent {
  /** Counts the rule sets this limiter has put in force; 1 is the one it started with. */
  version: number
  /** First 16 hex digits of the SHA-256 of the rules in force; equal rule sets, equal hashes. */
  hash: string
  /** What brought the change: the file path, a remote source's name, or `snapshot:PATH`. */
  source: string
  /** The rules now in force, after precedence. */
  rules: Rule[]
}

/** What {@link LiveConfig.status} reports. */
export interface LiveConfigStatus {
  /** As in {@link ConfigEvent}; 0 before the first rule set. */
  version: number
  hash: string
  /** What brought the rules in force (see {@link ConfigEvent.source}). */
  source: string
  /** The local configuration file, when there is one. */
  file: string | undefined
  /** Whether that file is watched, so that writing it changes the rules in force. */
  watched: boolean
  /** Names of the remote layers (Nacos, user sources), lowest precedence first. */
  remotes: string[]
  /** The last rejected document or source failure, with when (ms since the epoch). */
  lastError: { message: string; at: number } | undefined
}

/** @deprecated The same type as {@link Logger}; use that. */
export type ConfigLogger = Logger

/** A remote source as the engine takes it: the source plus where its snapshot lives. */
export type RemoteConfigSource = ConfigSource<RemoteDocument> & RemoteSourceOptions

/** What the engine drives; the limiter implements it with `setRules` and its events. */
export interface LiveConfigTarget {
  /** Puts a whole rule set in force in one step, or throws and keeps the rules in force. */
  apply(rules: readonly Rule[]): void
  applied(event: ConfigEvent): void
  rejected(error: Error): void
}

export interface LiveConfigOptions {
  /** The local rules in force at start (from the file, or given in code). */
  rules: readonly Rule[]
  /** The local file, to watch; absent when the rules were given in code. */
  file?: { source: ConfigSource<DianaConfig>; text: string; config: DianaConfig } | undefined
  /** Watch the local file. */
  watch: boolean
  /** Remote layers, lowest precedence first. */
  remotes: readonly RemoteConfigSource[]
  logger: Logger
}

const DEFAULT_STARTUP_WAIT_MS = 2000

interface Layer {
  readonly source: RemoteConfigSource
  readonly snapshot: SnapshotFile | undefined
  rules: Rule[] | undefined
  /** The last text seen, good or bad, so repeats are ignored (and logged only once). */
  text: string | undefined
  /** Outage messages already reported since the last document arrived. */
  readonly failures: Set<string>
  /** Settles when the documents received so far are applied or rejected. */
  settled: Promise<void>
}

/**
 * Keeps a limiter's rules in step with its configuration: the local file (watched) and the
 * remote layers (subscribed), merged by rule name with remote over local. Every document is
 * validated as a whole before anything changes; a bad one is reported once and the rules in
 * force stay. Swaps go through `apply`, which keeps the counters of unchanged rules.
 */
export class LiveConfig {
  readonly #target: LiveConfigTarget
  readonly #options: LiveConfigOptions
  readonly #layers: Layer[]
  readonly #ready: Promise<void>
  #localRules: readonly Rule[]
  #localText: string | undefined
  #localSettled: Promise<void> = Promise.resolve()
  #version = 0
  #hash = ''
  #origin = ''
  #lastError: { message: string; at: number } | undefined
  #closed = false

  constructor(target: LiveConfigTarget, options: LiveConfigOptions) {
    this.#target = target
    this.#options = options
    this.#localRules = options.rules
    this.#localText = options.file?.text
    this.#layers = options.remotes.map((source) => ({
      source,
      snapshot:
        source.snapshot === undefined ? undefined : new SnapshotFile(source.snapshot, source.maxBytes),
      rules: undefined,
      text: undefined,
      failures: new Set(),
      settled: Promise.resolve(),
    }))
    // The last good remote documents count from the first check on: a restart while the
    // centre is down starts with the remote rules, not just the local ones.
    let origin = options.file?.source.name ?? 'rules'
    for (const layer of this.#layers)
      if (this.#loadSnapshot(layer)) origin = `snapshot:${layer.snapshot?.path}`
    this.#apply(origin)
    this.#ready = Promise.all(this.#layers.map((layer) => this.#start(layer))).then(() => undefined)
    if (options.watch && options.file) {
      const source = options.file.source
      source.listen(
        (text) => this.#onLocalText(text),
        (error) => this.#report(new Error(`${source.name}: ${error.message}`, { cause: error })),
      )
    }
  }

  /**
   * Where the rules in force came from, for diana-limiter/dashboard: read on demand, so
   * nothing is kept per check.
   */
  status(): LiveConfigStatus {
    return {
      version: this.#version,
      hash: this.#hash,
      source: this.#origin,
      file: this.#options.file?.source.name,
      watched: this.#options.watch && this.#options.file !== undefined,
      remotes: this.#layers.map((layer) => layer.source.name),
      lastError: this.#lastError && { ...this.#lastError },
    }
  }

  /** Resolves once every remote source answered at start, or its startup wait ran out. */
  ready(): Promise<void> {
    return this.#ready
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    const sources = [this.#options.file?.source, ...this.#layers.map((layer) => layer.source)]
    await Promise.all(sources.map((source) => source?.close()))
    await Promise.all(this.#layers.map((layer) => layer.snapshot?.settled()))
  }

  #loadSnapshot(layer: Layer): boolean {
    const snapshot = layer.snapshot
    if (!snapshot) return false
    let text: string | undefined
    try {
      text = snapshot.readSync()
    } catch (error) {
      this.#report(
        new Error(`${snapshot.path}: cannot read the snapshot (${errorReason(error, true)})`, {
          cause: error,
        }),
      )
      return false
    }
    if (text === undefined) return false
    const parsed = layer.source.convert(text, snapshot.path)
    if (!parsed.ok) {
      this.#report(parsed.error)
      return false
    }
    layer.rules = parsed.value.rules
    layer.text = text
    return true
  }

  #start(layer: Layer): Promise<void> {
    const { source } = layer
    const first = source.read().then(
      (text) => this.#onRemoteText(layer, text),
      (error: unknown) => this.#onRemoteError(layer, error),
    )
    source.listen(
      (text) => void this.#onRemoteText(layer, text),
      (error) => this.#onRemoteError(layer, error),
    )
    const wait = source.startupWaitMs ?? DEFAULT_STARTUP_WAIT_MS
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, wait)
      timer.unref()
    })
    return Promise.race([first, timeout]).finally(() => clearTimeout(timer))
  }

  #onLocalText(text: string | undefined): void {
    if (this.#closed || text === undefined || text === this.#localText) return
    this.#localText = text
    const file = this.#options.file
    if (!file) return
    const converting = this.#convert(file.source, text)
    // Edits are applied in the order they were made, whatever order their checks end in.
    this.#localSettled = this.#localSettled.then(() =>
      this.#whenValid(converting, (config) => {
        const { rules: _next, ...nextRest } = config
        const { rules: _first, ...firstRest } = file.config
        if (JSON.stringify(nextRest) !== JSON.stringify(firstRest)) {
          this.#options.logger.warn(
            `${file.source.name}: store, remote and response changes take effect on restart; applying the rules`,
          )
        }
        this.#localRules = config.rules
        this.#apply(file.source.name)
      }),
    )
  }

  #onRemoteText(layer: Layer, text: string | undefined): Promise<void> {
    if (this.#closed) return layer.settled
    layer.failures.clear()
    const absent = text === undefined || text.trim() === ''
    if (absent ? layer.text === undefined : text === layer.text) return layer.settled
    layer.text = absent ? undefined : text
    const converting = absent ? undefined : this.#convert(layer.source, text as string)
    // Documents are applied in the order they arrived, whatever order their checks end in.
    layer.settled = layer.settled.then(async () => {
      if (this.#closed) return
      if (!converting) {
        // The document was deleted (or never published): the centre no longer overrides.
        layer.rules = undefined
        this.#saveSnapshot(layer, undefined)
        this.#apply(layer.source.name)
        return
      }
      await this.#whenValid(converting, (document) => {
        layer.rules = document.rules
        this.#saveSnapshot(layer, text)
        this.#apply(layer.source.name)
      })
    })
    return layer.settled
  }

  /** Once `converting` is done: `onValid` with a valid document, else its error reported. */
  async #whenValid<T>(
    converting: Promise<ParseResult<T> | undefined>,
    onValid: (value: T) => void,
  ): Promise<void> {
    const parsed = await converting
    if (this.#closed || !parsed) return
    if (parsed.ok) onValid(parsed.value)
    else this.#report(parsed.error)
  }

  /**
   * Validates a document that arrived after start: off the event loop when the source can, so
   * a hostile push or edit does not stall the host. Undefined when the source's own code threw.
   */
  async #convert<T>(source: ConfigSource<T>, text: string): Promise<ParseResult<T> | undefined> {
    try {
      return await (source.convertAsync ? source.convertAsync(text) : source.convert(text))
    } catch (error) {
      this.#report(new Error(`${source.name}: ${errorReason(error, true)}`, { cause: error }))
      return undefined
    }
  }

  #onRemoteError(layer: Layer, error: unknown): void {
    if (this.#closed) return
    const message = `${layer.source.name}: ${errorReason(error, true)}; keeping the rules in force`
    if (layer.failures.has(message)) return
    // Bounded: a long outage with ever-new messages is reported, not remembered forever.
    if (layer.failures.size >= 100) layer.failures.clear()
    layer.failures.add(message)
    this.#report(new Error(message, { cause: error }))
  }

  #saveSnapshot(layer: Layer, text: string | undefined): void {
    const snapshot = layer.snapshot
    if (!snapshot) return
    const write = text === undefined ? snapshot.remove() : snapshot.save(text)
    write.catch((error: unknown) =>
      this.#report(new Error(`${snapshot.path}: cannot write the snapshot (${errorReason(error, true)})`)),
    )
  }

  #apply(origin: string): void {
    const rules = mergeRules(
      this.#localRules,
      this.#layers.map((layer) => layer.rules),
    )
    const hash = createHash('sha256').update(JSON.stringify(rules)).digest('hex').slice(0, 16)
    if (hash === this.#hash) return
    try {
      this.#target.apply(rules)
    } catch (error) {
      this.#report(error instanceof Error ? error : new Error(String(error)))
      return
    }
    this.#hash = hash
    this.#origin = origin
    this.#version += 1
    this.#target.applied({ version: this.#version, hash, source: origin, rules })
  }

  #report(error: Error): void {
    if (this.#closed) return
    this.#lastError = { message: error.message, at: Date.now() }
    const headline = error instanceof ConfigError ? 'configuration rejected, the rules in force stay:\n' : ''
    this.#options.logger.warn(`diana: ${headline}${error.message}`)
    this.#target.rejected(error)
  }
}
