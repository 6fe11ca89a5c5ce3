import type { Clock } from '../../src/clock'

/**
 * A clock that moves only when told to. It is itself a {@link Clock} (call it for "now"), so
 * it can be passed as `createLimiter({ clock })` or to a store, and tests never sleep.
 */
export interface FakeClock extends Clock {
  /** Epoch milliseconds, the same value as calling the clock. */
  now(): number
  /** Moves time forward by `ms` (>= 0) and returns the new time. */
  advance(ms: number): number
  /** Jumps to `ms` epoch milliseconds (either direction) and returns it. */
  set(ms: number): number
}

/** 2023-11-14T22:13:20Z: a realistic epoch value, so float precision matches production. */
export const DEFAULT_START_MS = 1_700_000_000_000

export function createFakeClock(startMs: number = DEFAULT_START_MS): FakeClock {
  checkTime('createFakeClock', startMs)
  let current = startMs
  const clock = (() => current) as FakeClock
  clock.now = () => current
  clock.advance = (ms: number) => {
    checkTime('advance', ms)
    if (ms < 0) throw new RangeError(`advance: ms must be >= 0 (got ${ms}); use set() to go back`)
    current += ms
    return current
  }
  clock.set = (ms: number) => {
    checkTime('set', ms)
    current = ms
    return current
  }
  return clock
}

function checkTime(where: string, ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new TypeError(`${where}: expected a finite number of ms (got ${String(ms)})`)
  }
}
