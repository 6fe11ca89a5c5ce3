import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach } from 'vitest'
import type { Limiter, LimiterEvents } from '../../src/limiter'

/** A fresh directory, removed by the returned function. */
export function temporaryDirectory(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'diana-config-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

let writes = 0
/** Writes as deploy tools and most editors do: a temporary file renamed over the target. */
export function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.${writes++}.tmp`
  writeFileSync(temporary, text)
  renameSync(temporary, path)
}

/**
 * The next `config` or `configError` event that satisfies `accept`, or a rejection after
 * `timeoutMs`. Registered before the action that causes it, so nothing is missed.
 */
export function nextEvent<K extends 'config' | 'configError'>(
  limiter: Limiter,
  name: K,
  accept: (...args: LimiterEvents[K]) => boolean = () => true,
  timeoutMs = 3000,
): Promise<LimiterEvents[K][0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      limiter.off(name, listener as never)
      reject(new Error(`no ${name} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (...args: LimiterEvents[K]) => {
      if (!accept(...args)) return
      clearTimeout(timer)
      limiter.off(name, listener as never)
      resolve(args[0])
    }
    limiter.on(name, listener as never)
  })
}

/** A logger that keeps its lines, to check what was reported and how often. */
export function recordingLogger(): { warn(message: string): void; lines: string[] } {
  const lines: string[] = []
  return { lines, warn: (message) => lines.push(message) }
}

/** A settable clock for the memory store. */
export function fakeClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let now = start
  return { now: () => now, advance: (ms) => (now += ms) }
}

/**
 * A `diana.yaml` path in a fresh directory for each test of the enclosing suite. The limiters a
 * test hands to `keep` are closed after it, and the directory removed.
 */
export function scratchConfigFile(): { readonly file: string; keep(limiter: Limiter): void } {
  let file = ''
  let remove = () => {}
  const limiters: Limiter[] = []
  beforeEach(() => {
    const scratch = temporaryDirectory()
    file = join(scratch.dir, 'diana.yaml')
    remove = scratch.remove
  })
  afterEach(async () => {
    await Promise.all(limiters.splice(0).map((limiter) => limiter.close()))
    remove()
  })
  return {
    get file() {
      return file
    },
    keep: (limiter) => {
      limiters.push(limiter)
    },
  }
}
