import { createHmac, randomUUID } from 'node:crypto'
import { signDeviceId } from 'diana-limiter'

/**
 * The key device ids are signed with, derived from the shop secret: one setting (SHOP_SECRET)
 * serves both, and a session signature can never pass for a device signature or the reverse.
 * Every shop process serving one sale derives the same key.
 */
export function deviceSecretOf(shopSecret: string): Buffer {
  return createHmac('sha256', shopSecret).update('flash-sale device ids').digest()
}

/**
 * A fresh device id signed for Diana's `deviceSecret`: the page keeps it and sends it as
 * `x-device-id`. The device rule counts only ids the shop issued, so a script that makes up a
 * new id per request is counted by its address instead.
 */
export function issueDeviceId(secret: Buffer): string {
  return signDeviceId(`web-${randomUUID()}`, secret)
}
