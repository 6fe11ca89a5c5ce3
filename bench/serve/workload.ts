/**
 * What the serve benchmark's clients send and the rules `diana serve` answers them with: an
 * Envoy route with `(generic_key=api, remote_address)` and `(account_id, path)` descriptors, as
 * in docs/gateway.md, over many client addresses and accounts.
 */

export const ADDRESSES = 10_000
export const ACCOUNTS = 1000
const PATHS = 50

/** Call number `n`'s request: addresses, accounts and paths each cycle at their own pace. */
export function envoyRequest(n: number): unknown {
  const ip = n % ADDRESSES
  return {
    domain: 'edge',
    descriptors: [
      {
        entries: [
          { key: 'generic_key', value: 'api' },
          { key: 'remote_address', value: `10.${(ip >> 8) & 255}.${ip & 255}.7` },
        ],
      },
      {
        entries: [
          { key: 'account_id', value: `acct-${(n * 7919) % ACCOUNTS}` },
          { key: 'path', value: `/orders/${n % PATHS}` },
        ],
      },
    ],
  }
}

/**
 * The configuration served: three rules every call is checked against, with limits high
 * enough that the calls are allowed (an allowed call writes every rule's key; a denial is
 * cheaper), so the run measures the dearer path.
 */
export function serveConfig(store: { type: 'memory' } | { type: 'redis'; url: string }): string {
  const storeLine = store.type === 'memory' ? '{ type: memory }' : `{ type: redis, url: "${store.url}" }`
  return `version: 1
store: ${storeLine}
serve:
  descriptors: { remote_address: ip, account_id: account, path: resource }
  domains: [edge]
rules:
  - { name: per-ip, dimension: ip, algorithm: fixed-window, limit: 1000, window: 1s }
  - { name: per-account, dimension: account, algorithm: sliding-window, limit: 100000, window: 1m }
  - { name: global, dimension: global, algorithm: token-bucket, limit: 1000000, window: 1s }
`
}
