/**
 * A bare thenable of `value`: it settles asynchronously, as a promise would, but is no
 * `Promise` (as some promise libraries and older drivers return). Diana must wait for it.
 */
export function thenable<T>(value: T): PromiseLike<T> {
  return {
    // biome-ignore lint/suspicious/noThenProperty: being a thenable is the point.
    then: (resolve, reject) => Promise.resolve(value).then(resolve, reject),
  }
}
