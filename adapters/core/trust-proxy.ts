/**
 * Which proxies in front of the app to believe, for a framework that has no setting of its own
 * (Hono): `false` (the default) believes none, so X-Forwarded-For is ignored and the client is
 * the connection's peer; a number `n` believes the `n` proxies nearest the app (the client is
 * the `n`-th address from the right of `X-Forwarded-For, peer`); `true` believes every hop (the
 * leftmost address, which the client itself may have written: only behind a proxy that
 * replaces the header); a function `(address, hop) => boolean` is asked for each hop from the
 * peer outwards, as Express's `trust proxy` (proxy-addr) asks it.
 */
export type TrustProxy = boolean | number | ((address: string, hop: number) => boolean)

/** Hops a trust function is asked about at most: no chain of real proxies is near this long. */
export const MAX_PROXY_HOPS = 32

/** Throws a TypeError naming the option unless `value` is a {@link TrustProxy}. */
export function checkTrustProxy(value: unknown, where: string): TrustProxy {
  if (value === undefined) return false
  if (typeof value === 'boolean' || typeof value === 'function') return value as TrustProxy
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_PROXY_HOPS)
    return value
  throw new TypeError(
    `${where}: trustProxy must be false, true, a whole number of proxy hops from 0 to ${MAX_PROXY_HOPS}, or a function (address, hop) => boolean`,
  )
}

/**
 * The client address under `trust`, from the connection's `peer` and the X-Forwarded-For
 * header; undefined when the peer is unknown (a proxy nobody can vouch for is believed by
 * nobody). Walks the header from the right and stops at the first untrusted hop, so a long
 * header costs at most {@link MAX_PROXY_HOPS} entries of work beyond one scan for commas.
 */
export function trustedClient(
  peer: string | undefined,
  forwardedFor: string | null | undefined,
  trust: TrustProxy,
): string | undefined {
  if (peer === undefined || trust === false || trust === 0 || !forwardedFor) return peer
  if (trust === true) {
    // The leftmost non-empty entry.
    let start = 0
    while (start <= forwardedFor.length) {
      let end = forwardedFor.indexOf(',', start)
      if (end < 0) end = forwardedFor.length
      const entry = forwardedFor.slice(start, end).trim()
      if (entry !== '') return entry
      start = end + 1
    }
    return peer
  }
  let address = peer
  let end = forwardedFor.length
  for (let hop = 0; hop < MAX_PROXY_HOPS && end >= 0; hop++) {
    const believed = typeof trust === 'number' ? hop < trust : callTrust(trust, address, hop)
    if (!believed) return address
    const comma = forwardedFor.lastIndexOf(',', end - 1)
    const entry = forwardedFor.slice(comma + 1, end).trim()
    end = comma
    // An empty entry (`a,,b`) names no one: the walk ends at the last address known.
    if (entry === '') return address
    address = entry
    if (comma < 0) return address
  }
  return address
}

function callTrust(trust: (address: string, hop: number) => boolean, address: string, hop: number): boolean {
  try {
    return trust(address, hop) === true
  } catch {
    // A trust function that fails believes no one: the safe side.
    return false
  }
}
