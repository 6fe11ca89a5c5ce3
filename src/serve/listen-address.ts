import { isIP } from 'node:net'

/** Where `diana serve` listens for HTTP when `--http` is not given: loopback only. */
export const DEFAULT_HTTP_ADDRESS = '127.0.0.1:8080'

export interface ListenAddress {
  host: string
  port: number
}

/**
 * `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (every interface) → host and port; a message saying
 * what is wrong otherwise. Port 0 asks the system for a free one (tests).
 */
export function parseListenAddress(text: string, flag: string): ListenAddress | string {
  const bad = `${flag} must be HOST:PORT, [IPv6]:PORT or :PORT (got "${text}")`
  const colon = text.lastIndexOf(':')
  if (colon < 0) return bad
  let host = text.slice(0, colon)
  const portText = text.slice(colon + 1)
  if (!/^\d{1,5}$/.test(portText)) return bad
  const port = Number(portText)
  if (port > 65535) return `${flag}: port ${port} is above 65535`
  if (host.startsWith('[') && host.endsWith(']')) {
    host = host.slice(1, -1)
    if (isIP(host) !== 6) return bad
  } else if (host.includes(':')) {
    return bad
  }
  if (host === '') host = '0.0.0.0'
  if (host.length > 253) return bad
  return { host, port }
}

/** The address as `HOST:PORT` again, IPv6 in brackets. */
export function formatListenAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}
