import { afterEach, describe, expect, it, vi } from 'vitest'
import { DeadlineQueue, MAX_STALLS } from '../../../src/stores/redis/deadline-queue'

const FAKED = ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] as const

/** Blocks the event loop for `ms`, as a long synchronous task would. */
function block(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // busy
  }
}

describe('DeadlineQueue', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('expires each deadline once its length has passed, in order, and never a cancelled one', async () => {
    vi.useFakeTimers({ toFake: [...FAKED] })
    const queue = new DeadlineQueue(50)
    const expired: string[] = []
    queue.start(() => expired.push('a'))
    await vi.advanceTimersByTimeAsync(20)
    const b = queue.start(() => expired.push('b'))
    queue.start(() => expired.push('c'))
    b.cancel()
    await vi.advanceTimersByTimeAsync(29)
    expect(expired).toEqual([])
    await vi.advanceTimersByTimeAsync(2)
    expect(expired).toEqual(['a'])
    await vi.advanceTimersByTimeAsync(20)
    expect(expired).toEqual(['a', 'c'])
    expect(queue.size).toBe(0)
  })

  it('keeps one timer for any number of deadlines, and forgets answered ones at once', async () => {
    vi.useFakeTimers({ toFake: [...FAKED] })
    const queue = new DeadlineQueue(50)
    const deadlines = Array.from({ length: 1000 }, () => queue.start(() => {}))
    expect(vi.getTimerCount()).toBe(1)
    expect(queue.size).toBe(1000)
    for (const deadline of deadlines) deadline.cancel()
    expect(queue.size).toBe(0)
    // A new call after a quiet spell is still bounded.
    let expired = false
    await vi.advanceTimersByTimeAsync(500)
    queue.start(() => {
      expired = true
    })
    await vi.advanceTimersByTimeAsync(51)
    expect(expired).toBe(true)
  })

  it('gives a deadline another term when the event loop was blocked past it, at most MAX_STALLS times', async () => {
    const ms = 20
    const queue = new DeadlineQueue(ms)
    const started = performance.now()
    let expiredAt = 0
    const expired = new Promise<void>((resolve) =>
      queue.start(() => {
        expiredAt = performance.now()
        resolve()
      }),
    )
    // This process, not Redis, took the time: the timer fires late and the deadline is renewed.
    block(3 * ms)
    await new Promise((resolve) => setTimeout(resolve, 0))
    await new Promise((resolve) => setImmediate(resolve))
    expect(expiredAt).toBe(0)
    await expired
    expect(expiredAt - started).toBeGreaterThanOrEqual(4 * ms - 1)

    // Blocked every time: expired after MAX_STALLS renewals all the same.
    let renewals = -1
    let done = false
    queue.start(() => {
      done = true
    })
    while (!done && renewals <= MAX_STALLS + 1) {
      block(2 * ms)
      renewals++
      await new Promise((resolve) => setTimeout(resolve, 0))
      await new Promise((resolve) => setImmediate(resolve))
    }
    expect(done).toBe(true)
    expect(renewals).toBe(MAX_STALLS)
  })
})
