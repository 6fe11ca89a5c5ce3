import { createReadStream } from 'node:fs'
import type { FSWatcher } from 'chokidar'
import { requirePeer } from '../optional-peer'
import type { DianaConfig } from './config-schema'
import type { ConfigSource } from './config-source'
import { DEFAULT_MAX_CONFIG_BYTES, type ParseResult, parseConfig, parseConfigAsync } from './parse-config'

export interface FileSourceOptions {
  /**
   * Quiet time after the last change event before the file is read, in ms; the file is then
   * read again after the same time and taken only once two reads agree. Editors and deploy
   * tools write in several steps; waiting until they are done avoids validating half a file.
   * Small enough that an edit is in force well within a second.
   * @default 100
   */
  debounceMs?: number
  /**
   * Largest file taken, in bytes; a larger one is rejected, and read no further than that.
   * @default {@link DEFAULT_MAX_CONFIG_BYTES}
   */
  maxBytes?: number
}

/** The local configuration file, watched with chokidar. */
export class FileSource implements ConfigSource<DianaConfig> {
  readonly name: string
  readonly #debounceMs: number
  readonly #maxBytes: number
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(path: string, options: FileSourceOptions = {}) {
    this.name = path
    this.#debounceMs = options.debounceMs ?? 100
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES
  }

  async read(): Promise<string | undefined> {
    try {
      // One byte past the limit is enough to reject the file; the rest is never read.
      const chunks: Buffer[] = []
      for await (const chunk of createReadStream(this.name, { end: this.#maxBytes }))
        chunks.push(chunk as Buffer)
      return Buffer.concat(chunks).toString('utf8')
    } catch (error) {
      // Between the two steps of an atomic save the file may be briefly missing.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  convert(text: string, name = this.name): ParseResult<DianaConfig> {
    return parseConfig(text, name, { maxBytes: this.#maxBytes })
  }

  convertAsync(text: string, name = this.name): Promise<ParseResult<DianaConfig>> {
    return parseConfigAsync(text, name, { maxBytes: this.#maxBytes })
  }

  listen(onText: (text: string | undefined) => void, onError: (error: Error) => void): void {
    if (this.#closed || this.#watcher) return
    // Not persistent: watching the file never keeps a process alive on its own.
    const { watch } = requirePeer<typeof import('chokidar')>('chokidar', 'Watching the config file')
    const watcher = watch(this.name, { persistent: false, ignoreInitial: true })
    this.#watcher = watcher
    // The text read last, not yet passed on: it is passed on only when a read one quiet
    // interval later finds the same, so a file written in steps with pauses longer than the
    // debounce is not taken while it is still growing.
    let candidate: string | undefined
    const check = () => {
      this.read()
        .then((text) => {
          if (this.#closed) return
          // A missing file is a step of a save or a deletion: keep the rules in force.
          if (text === undefined || text !== candidate) {
            candidate = text
            if (text !== undefined) wait()
            return
          }
          candidate = undefined
          onText(text)
        })
        // Nothing thrown here may become an unhandled rejection: that ends the host process.
        .catch((error: unknown) => onError(error instanceof Error ? error : new Error(String(error))))
    }
    const wait = () => {
      clearTimeout(this.#timer)
      this.#timer = setTimeout(check, this.#debounceMs)
      this.#timer.unref()
    }
    watcher.on('add', wait)
    watcher.on('change', wait)
    // Setting up the watch takes a moment; an edit made meanwhile is caught by reading once more.
    watcher.on('ready', wait)
    watcher.on('error', (error) => onError(error instanceof Error ? error : new Error(String(error))))
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#watcher?.close()
  }
}
