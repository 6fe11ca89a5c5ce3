/**
 * The one source of time. Everything that needs "now" takes a {@link Clock}, so tests drive
 * time by hand and never sleep. This is the only file that reads the system clock.
 */
export type Clock = () => number

/** Wall-clock epoch milliseconds. */
export const systemClock: Clock = () => Date.now()
