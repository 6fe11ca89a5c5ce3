import { isIPv4 } from 'node:net'

/**
 * How many leading bits of an IPv6 address name one client, as express-rate-limit's
 * `ipv6Subnet`. Providers hand a customer a /48 to /64 and the customer picks any address in
 * it, so counting per address would let one client mint fresh buckets at will; a /56 is what a
 * home line usually gets.
 */
export const DEFAULT_IPV6_SUBNET = 56
export const MIN_IPV6_SUBNET = 32
export const MAX_IPV6_SUBNET = 128

/** Longest IPv6 text without a zone: eight full groups, or six and a dotted IPv4 tail. */
const MAX_ADDRESS_LENGTH = 45
const HEX_GROUP = /^[0-9a-f]{1,4}$/i
/** How dual-stack sockets spell an IPv4 peer. */
const MAPPED_PREFIX = '::ffff:'

/**
 * The key for a client address: IPv4 as it is; IPv4-mapped IPv6 (`::ffff:1.2.3.4`, in any
 * spelling, as dual-stack sockets and proxies report IPv4 peers) as the IPv4 address it stands
 * for; any other IPv6 address as its `subnet`-bit prefix in canonical text
 * (`2001:db8:ab00::/56`), so every spelling of one network is one key. Text that is no
 * address (a proxy header the framework passed through unchecked) is kept as it is, for the
 * key hashing to bound. Linear in the length of the text, and never throws.
 */
export function clientKey(ip: string | undefined, subnet = DEFAULT_IPV6_SUBNET): string | undefined {
  if (!ip) return undefined
  if (!ip.includes(':')) return ip
  // A dual-stack server reports every IPv4 peer in this spelling: spared the full parse and
  // its allocations on each request. `isIPv4` takes no leading zeros, so this is the canonical
  // dotted form the parse would give.
  if (ip.startsWith(MAPPED_PREFIX) && isIPv4(ip.slice(MAPPED_PREFIX.length)))
    return ip.slice(MAPPED_PREFIX.length)
  const bytes = parseIPv6(ip)
  if (bytes === undefined) return ip
  if (isMapped(bytes)) return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`
  return subnet >= MAX_IPV6_SUBNET ? formatIPv6(bytes) : `${formatIPv6(masked(bytes, subnet))}/${subnet}`
}

/**
 * IPv6 text (any case, leading zeros, `::`, a dotted IPv4 tail, a `%zone`) → 16 bytes;
 * undefined when it is not an IPv6 address.
 */
export function parseIPv6(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%')
  // The zone names the interface the address is on, not another client.
  const address = zone >= 0 ? text.slice(0, zone) : text
  if (address.length > MAX_ADDRESS_LENGTH || address.length < 2) return undefined
  const gap = address.indexOf('::')
  if (gap >= 0 && address.indexOf('::', gap + 1) >= 0) return undefined
  const head = gap < 0 ? address : address.slice(0, gap)
  const tail = gap < 0 ? '' : address.slice(gap + 2)
  const front = head === '' ? [] : head.split(':')
  const back = tail === '' ? [] : tail.split(':')
  const groups: number[] = []
  const after: number[] = []
  if (!readGroups(front, groups, gap < 0)) return undefined
  if (!readGroups(back, after, true)) return undefined
  const missing = 8 - groups.length - after.length
  if (gap < 0 ? missing !== 0 : missing < 1) return undefined
  for (let i = 0; i < missing; i++) groups.push(0)
  groups.push(...after)
  const bytes = new Uint8Array(16)
  for (let i = 0; i < 8; i++) {
    const group = groups[i] ?? 0
    bytes[2 * i] = group >> 8
    bytes[2 * i + 1] = group & 0xff
  }
  return bytes
}

/** Pushes 16-bit groups; a dotted IPv4 address may end the last run (two groups). */
function readGroups(parts: readonly string[], into: number[], last: boolean): boolean {
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string
    if (last && i === parts.length - 1 && part.includes('.')) {
      if (!isIPv4(part)) return false
      const [a = 0, b = 0, c = 0, d = 0] = part.split('.').map(Number)
      into.push((a << 8) | b, (c << 8) | d)
    } else {
      if (!HEX_GROUP.test(part)) return false
      into.push(Number.parseInt(part, 16))
    }
  }
  return true
}

/** `::ffff:0:0/96`: an IPv4 peer seen through an IPv6 socket. */
function isMapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false
  return bytes[10] === 0xff && bytes[11] === 0xff
}

function masked(bytes: Uint8Array, bits: number): Uint8Array {
  const out = new Uint8Array(16)
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i))
    out[i] = (bytes[i] ?? 0) & ((0xff00 >> keep) & 0xff)
  }
  return out
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIPv6(bytes: Uint8Array): string {
  const groups: number[] = []
  for (let i = 0; i < 8; i++) groups.push(((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0))
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = groups.map((group) => group.toString(16))
  if (bestStart < 0) return hex.join(':')
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`
}

/**
 * Whether a client address is one a proxy in front of the app would have: loopback, private
 * (RFC 1918, IPv6 unique local), link-local or carrier-grade NAT.
 */
export function isPrivateAddress(ip: string): boolean {
  const key = clientKey(ip, MAX_IPV6_SUBNET)
  if (key === undefined) return false
  if (isIPv4(key)) {
    const [a = 0, b = 0] = key.split('.').map(Number)
    return (
      a === 10 ||
      a === 127 ||
      (a === 172 && b >= 16 && b < 32) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b < 128)
    )
  }
  const bytes = parseIPv6(key)
  if (bytes === undefined) return false
  const first = bytes[0] ?? 0
  const second = bytes[1] ?? 0
  return key === '::1' || (first & 0xfe) === 0xfc || (first === 0xfe && (second & 0xc0) === 0x80)
}
