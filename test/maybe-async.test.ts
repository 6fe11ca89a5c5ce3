import { describe, expect, it } from 'vitest'
import { isPromiseLike, whenReady } from '../src/maybe-async'
import { thenable } from './support/thenable'

describe('isPromiseLike', () => {
  it('waits for whatever await would wait for, and nothing else', () => {
    expect(isPromiseLike(Promise.resolve(1))).toBe(true)
    expect(isPromiseLike(thenable(1))).toBe(true)
    // Built with `then` as a string key: objects that look like thenables are what is tested.
    const withThen = (then: unknown): object => Object.fromEntries([['then', then]])
    expect(
      isPromiseLike(
        Object.assign(
          () => {},
          withThen(() => {}),
        ),
      ),
    ).toBe(true)
    for (const plain of [undefined, null, false, true, 0, '', 'then', {}, withThen(true), withThen('x')]) {
      expect(isPromiseLike(plain), String(plain)).toBe(false)
    }
  })
})

describe('whenReady', () => {
  it('calls on at once for a plain value, with no promise in between', () => {
    let seen: number | undefined
    const result = whenReady(2, (value) => {
      seen = value
      return value * 2
    })
    expect(seen).toBe(2)
    expect(result).toBe(4)
  })

  it('chains a promise or a bare thenable into a real Promise, errors to onError', async () => {
    const fromThenable = whenReady(thenable(2), (value) => value * 2)
    expect(fromThenable).toBeInstanceOf(Promise)
    await expect(fromThenable).resolves.toBe(4)
    await expect(
      whenReady(
        Promise.reject(new Error('no')),
        () => 0,
        () => -1,
      ),
    ).resolves.toBe(-1)
    await expect(whenReady(Promise.reject(new Error('no')), () => 0)).rejects.toThrow('no')
  })
})
