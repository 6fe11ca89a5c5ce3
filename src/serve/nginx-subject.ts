import type { IncomingMessage } from 'node:http'
import { clientKey } from '../../adapters/core/client-ip'
import { ADDRESS_DEVICE, HEADER_DEVICE, UNKNOWN_ADDRESS } from '../../adapters/core/gate'
import { canonicalResource, routing, targetPath, withoutDotSegments } from '../../adapters/core/resource-path'
import type { Subject } from '../types'

/**
 * The subject of an Nginx `auth_request` subrequest, from the headers the recipe in
 * docs/gateway.md sets: Nginx knows the client and the original request, the subrequest only
 * carries them. Headers are trusted as they are, so `diana serve` must only be reachable by the
 * gateway (it listens on loopback by default).
 */

export const NGINX_HEADERS = {
  /** `proxy_set_header X-Real-IP $remote_addr;` */
  ip: 'x-real-ip',
  /** `proxy_set_header X-Original-URI $request_uri;` */
  uri: 'x-original-uri',
  /** `proxy_set_header X-Original-Method $request_method;` */
  method: 'x-original-method',
  /** The account, e.g. `proxy_set_header X-Diana-Account $http_x_api_key;` */
  account: 'x-diana-account',
  /** A device id, e.g. `proxy_set_header X-Diana-Device $http_x_device_id;` */
  device: 'x-diana-device',
} as const

/** Longest value taken from one header; longer ones count as absent. */
const MAX_VALUE = 1024

/**
 * How Nginx tells paths apart: `merge_slashes on` (its default) folds `//`; case and a
 * trailing slash are folded too, because the upstream may route those spellings alike, and
 * over-folding is the safe side (a client cannot mint fresh per-resource buckets).
 */
const NGINX_ROUTING = routing(false, true, true)

/**
 * The subject, or why the request is denied. The URI and the account come from the client
 * (`$request_uri`, an API key header): an over-long one is a denial, not an absent field, or a
 * client would walk around every `match.path` or per-account rule by padding its query string
 * or its key past the bound.
 */
export function nginxSubject(req: IncomingMessage, ipv6Subnet?: number): Subject | string {
  const subject: Record<string, string> = {}
  const ip = clientKey(header(req, NGINX_HEADERS.ip) ?? req.socket.remoteAddress, ipv6Subnet)
  if (ip !== undefined) subject.ip = ip
  // Bounded by the server's header size limit; the query is dropped before the bound applies.
  const uri = req.headers[NGINX_HEADERS.uri]
  if (typeof uri === 'string' && uri !== '') {
    const resource = canonicalResource(
      withoutDotSegments(canonicalResource(targetPath(uri), NGINX_ROUTING)),
      NGINX_ROUTING,
    )
    if (resource.length > MAX_VALUE) return `the path is longer than ${MAX_VALUE} characters`
    subject.resource = resource
  }
  const method = header(req, NGINX_HEADERS.method)
  if (method !== undefined) subject.method = method.toUpperCase()
  const account = req.headers[NGINX_HEADERS.account]
  if (typeof account === 'string' && account.length > MAX_VALUE)
    return `${NGINX_HEADERS.account} is longer than ${MAX_VALUE} characters`
  if (typeof account === 'string' && account !== '') subject.account = account
  const device = header(req, NGINX_HEADERS.device)
  // Keyed by source as the adapters key a device header, so it cannot name an address bucket.
  subject.device = device !== undefined ? HEADER_DEVICE + device : ADDRESS_DEVICE + (ip ?? UNKNOWN_ADDRESS)
  return subject
}

/** One header's value: an empty, repeated or overlong one counts as absent. */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  if (typeof value !== 'string' || value === '' || value.length > MAX_VALUE) return undefined
  return value
}
