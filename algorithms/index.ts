import type { Algorithm } from '../src/algorithm'
import { concurrency } from './concurrency'
import { fixedWindow } from './fixed-window'
import { leakyBucket } from './leaky-bucket'
import { slidingWindow } from './sliding-window'
import { tokenBucket } from './token-bucket'

/** The strategies Diana ships with, by the name rules use. */
export const builtInAlgorithms: ReadonlyArray<readonly [string, Algorithm]> = [
  ['fixed-window', fixedWindow],
  ['sliding-window', slidingWindow],
  ['token-bucket', tokenBucket],
  ['leaky-bucket', leakyBucket],
  ['concurrency', concurrency],
]

export { concurrency, fixedWindow, leakyBucket, slidingWindow, tokenBucket }
