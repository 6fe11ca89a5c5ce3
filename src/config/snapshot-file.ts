import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { readTextUpTo } from './load-config'
import { DEFAULT_MAX_CONFIG_BYTES } from './parse-config'

/**
 * The last good remote document, kept on disk so a restart while the centre is down still
 * starts with the remote rules. Written atomically (temporary file, then rename), so a crash
 * mid-write leaves the previous snapshot, never half of one.
 */
export class SnapshotFile {
  readonly path: string
  // Writes are chained so the file always ends up holding the latest document.
  #pending: Promise<void> = Promise.resolve()

  readonly #maxBytes: number

  /** @param maxBytes the source's document limit: a larger snapshot is read no further. */
  constructor(path: string, maxBytes = DEFAULT_MAX_CONFIG_BYTES) {
    this.path = path
    this.#maxBytes = maxBytes
  }

  /** The stored text, or undefined when there is none. Read synchronously, at start. */
  readSync(): string | undefined {
    try {
      return readTextUpTo(this.path, this.#maxBytes)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw error
    }
  }

  save(text: string): Promise<void> {
    const run = async () => {
      await mkdir(dirname(this.path), { recursive: true })
      const temporary = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`)
      await writeFile(temporary, text)
      await rename(temporary, this.path)
    }
    this.#pending = this.#pending.then(run, run)
    return this.#pending
  }

  remove(): Promise<void> {
    const run = () => rm(this.path, { force: true })
    this.#pending = this.#pending.then(run, run)
    return this.#pending
  }

  /** Resolves when every write started so far has finished (or failed). */
  settled(): Promise<void> {
    return this.#pending.catch(() => undefined)
  }
}
