import { isIPv4, isIPv6 } from 'node:net'

const MAPPED_V4 = '::ffff:'

/**
 * The device key for a client address. An IPv6 client usually owns a whole /64 and can pick
 * any address in it, so counting per address would let it mint fresh buckets at will; the /64
 * prefix is what identifies it. IPv4-mapped IPv6 (`::ffff:1.2.3.4`, as dual-stack sockets
 * report IPv4 peers) is the IPv4 client it stands for.
 */
export function clientKey(ip: string | undefined): string | undefined {
  if (!ip) return undefined
  if (!ip.includes(':')) return ip
  const lower = ip.toLowerCase()
  if (lower.startsWith(MAPPED_V4) && isIPv4(lower.slice(MAPPED_V4.length)))
    return lower.slice(MAPPED_V4.length)
  return prefix64(lower) ?? ip
}

/** `2001:db8:a:b:1:2:3:4` → `2001:db8:a:b::/64`; undefined when the text is not IPv6. */
export function prefix64(ip: string): string | undefined {
  const zone = ip.indexOf('%')
  const address = zone >= 0 ? ip.slice(0, zone) : ip
  if (!isIPv6(address)) return undefined
  const gap = address.indexOf('::')
  let groups: string[]
  if (gap < 0) {
    groups = address.split(':')
  } else {
    const head = gap === 0 ? [] : address.slice(0, gap).split(':')
    const tail = gap + 2 === address.length ? [] : address.slice(gap + 2).split(':')
    // An embedded IPv4 tail counts for two groups; it never reaches the first four anyway.
    const tailGroups =
      tail.length > 0 && (tail.at(-1) as string).includes('.') ? tail.length + 1 : tail.length
    groups = [...head, ...new Array<string>(8 - head.length - tailGroups).fill('0'), ...tail]
  }
  const top = groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16))
  return `${top.join(':')}::/64`
}
