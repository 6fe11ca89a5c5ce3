/**
 * Values that are there now or later. Diana answers synchronously whenever it can (the memory
 * store, a hook that returns a plain value), so an allowed request on a memory store passes
 * without a promise or a microtask; every layer therefore handles "a value or a promise of it".
 * This file holds the one rule for telling them apart, so no layer has its own.
 */

/** A value now, or a promise of it (what Diana's own layers return). */
export type MaybePromise<T> = T | Promise<T>

/**
 * Whether `value` is to be waited for: anything with a callable `then`, as `await` and
 * `Promise.resolve` decide. Not `instanceof Promise`: a hook or a store may return a promise
 * of another realm or library, or a bare thenable, and taking one for a plain value would read
 * `true` from a `skip` hook's promise or a decision's fields from a promise.
 */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function'
}

/**
 * `onValue(value)` at once when `value` is plain; otherwise once it settles, `onError` on a
 * rejection (rethrown when there is none), as a real `Promise`. Allocates nothing of its own
 * for a plain value, but the callbacks are the caller's: a hot path that would have to build
 * a closure per call branches on {@link isPromiseLike} itself instead.
 */
export function whenReady<T, R>(
  value: T | PromiseLike<T>,
  onValue: (value: T) => MaybePromise<R>,
  onError?: (error: unknown) => MaybePromise<R>,
): MaybePromise<R> {
  if (!isPromiseLike(value)) return onValue(value)
  return Promise.resolve(value).then(onValue, onError)
}
