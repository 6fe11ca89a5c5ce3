import { readFile } from 'node:fs/promises'
import type { FSWatcher } from 'chokidar'
import { requirePeer } from '../optional-peer'
import type { DianaConfig } from './config-schema'
import type { ConfigSource } from './config-source'
import { type ParseResult, parseConfig } from './parse-config'

export interface FileSourceOptions {
  /**
   * Quiet time after the last change event before the file is read, in ms. Editors and
   * deploy tools write in several steps; reading once they are done avoids validating half a
   * file. Small enough that an edit is in force well within a second.
   * @default 100
   */
  debounceMs?: number
}

/** The local configuration file, watched with chokidar. */
export class FileSource implements ConfigSource<DianaConfig> {
  readonly name: string
  readonly #debounceMs: number
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(path: string, options: FileSourceOptions = {}) {
    this.name = path
    this.#debounceMs = options.debounceMs ?? 100
  }

  async read(): Promise<string | undefined> {
    try {
      return await readFile(this.name, 'utf8')
    } catch (error) {
      // Between the two steps of an atomic save the file may be briefly missing.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  convert(text: string, name = this.name): ParseResult<DianaConfig> {
    return parseConfig(text, name)
  }

  listen(onText: (text: string | undefined) => void, onError: (error: Error) => void): void {
    if (this.#closed || this.#watcher) return
    // Not persistent: watching the file never keeps a process alive on its own.
    const { watch } = requirePeer<typeof import('chokidar')>('chokidar', 'Watching the config file')
    const watcher = watch(this.name, { persistent: false, ignoreInitial: true })
    this.#watcher = watcher
    const settle = () => {
      clearTimeout(this.#timer)
      this.#timer = setTimeout(() => {
        this.read().then((text) => {
          // A missing file is a step of a save or a deletion: keep the rules in force.
          if (!this.#closed && text !== undefined) onText(text)
        }, onError)
      }, this.#debounceMs)
      this.#timer.unref()
    }
    watcher.on('add', settle)
    watcher.on('change', settle)
    // Setting up the watch takes a moment; an edit made meanwhile is caught by reading once more.
    watcher.on('ready', settle)
    watcher.on('error', (error) => onError(error instanceof Error ? error : new Error(String(error))))
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#watcher?.close()
  }
}
