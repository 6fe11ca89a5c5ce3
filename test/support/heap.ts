import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * A way to force garbage collection, so heap figures mean retained memory, not garbage.
 * Uses `global.gc` when node runs with --expose-gc, else enables it at run time (a V8 flag);
 * undefined if neither works, and callers then skip their heap assertions.
 */
function findGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (typeof exposed === 'function') return exposed
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? (gc as () => void) : undefined
  } catch {
    return undefined
  }
}

const gc = findGc()

/** Heap bytes retained by what `work` leaves behind, or undefined when gc is not available. */
export async function measureHeap(work: () => Promise<void>): Promise<number | undefined> {
  if (!gc) {
    await work()
    return undefined
  }
  gc()
  gc()
  const before = process.memoryUsage().heapUsed
  await work()
  gc()
  gc()
  return process.memoryUsage().heapUsed - before
}

export const canMeasureHeap = gc !== undefined
