import { createLimiter } from '../../src/limiter'
import type { Admission } from './admission'
import type { Variant } from './options'

/**
 * The admission of a variant, or undefined for the bare service. The static buckets are told
 * the service's capacity (`slots` requests at once, each for `serviceMs`): one right, with a
 * burst of what the slots take at once (a larger burst would only queue), one twice too high
 * in both. The adaptive rule is told nothing; its `limit` is only the ceiling Netflix and Envoy
 * use by default.
 */
export function createAdmission(variant: Variant, slots: number, serviceMs: number): Admission | undefined {
  if (variant === 'bare') return undefined
  if (variant === 'adaptive') {
    return createLimiter({
      rules: [{ name: 'adaptive', algorithm: 'adaptive-concurrency', dimension: 'global', limit: 1000 }],
    })
  }
  const factor = variant === 'bucket-2x' ? 2 : 1
  const capacity = (slots * 1000) / serviceMs
  return createLimiter({
    rules: [
      {
        name: variant,
        algorithm: 'token-bucket',
        dimension: 'global',
        limit: Math.max(1, Math.round(factor * capacity)),
        window: '1s',
        burst: factor * slots,
      },
    ],
  })
}
