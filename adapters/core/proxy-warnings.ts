import { isPrivateAddress } from './client-ip'

/** Where the warnings point for the fix. */
const DOCS = 'https://github.com/diana-limiter/diana-limiter/blob/main/docs/security.md#behind-a-proxy'
/** How many first requests must all come from one address before it looks like a proxy. */
export const ONE_ADDRESS_REQUESTS = 100
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'via'] as const

/** What the watch reads of a request, from the adapter's binding. */
export interface ProxyView<Req> {
  header(req: Req, name: string): string | undefined
}

/**
 * Two one-time warnings about proxies, in the manner of express-rate-limit's validations (a
 * stable code in the message and a link): an app behind a proxy that it does not trust
 * counts every client as the proxy, so one noisy client denies everyone. Each check stops for
 * good once it has warned or seen that all is well, so after the first requests the hot path
 * pays one boolean test.
 *
 * - `DIANA_UNTRUSTED_FORWARDED_FOR`: a request carries X-Forwarded-For, yet the framework
 *   reported the connection's own address (it does not trust the header).
 * - `DIANA_ONE_ADDRESS`: the first {@link ONE_ADDRESS_REQUESTS} requests all came from one
 *   loopback or private address, each with a proxy header (X-Forwarded-For, Forwarded,
 *   X-Real-IP or Via). A test or a developer's curl sends no proxy headers, and real clients
 *   come from more than one address, so neither sets it off.
 */
export class ProxyWatch<Req> {
  /** False once both checks are over. */
  active = true
  #forwardedDone = false
  #oneAddressDone = false
  #address: string | undefined
  #seen = 0
  readonly #view: ProxyView<Req>
  readonly #setting: string
  readonly #warn: (message: string) => void

  /** `setting` names the framework's trust-proxy setting, for the advice. */
  constructor(view: ProxyView<Req>, setting: string, warn: (message: string) => void) {
    this.#view = view
    this.#setting = setting
    this.#warn = warn
  }

  /**
   * One request: `ip` is the client address the framework reported, `peer` the address of
   * the connection itself.
   */
  see(req: Req, ip: string, peer: string | undefined): void {
    if (!this.#forwardedDone) this.#forwarded(req, ip, peer)
    if (!this.#oneAddressDone) this.#oneAddress(req, ip)
    this.active = !(this.#forwardedDone && this.#oneAddressDone)
  }

  #forwarded(req: Req, ip: string, peer: string | undefined): void {
    const forwarded = this.#view.header(req, 'x-forwarded-for')
    if (forwarded === undefined || forwarded === '' || peer === undefined) return
    if (ip !== peer) {
      // The framework took the client from the header: proxies are trusted.
      this.#forwardedDone = true
      return
    }
    // A header naming the connection's own address says nothing either way.
    if (forwarded.trim() === peer) return
    this.#forwardedDone = true
    this.#warn(
      `[DIANA_UNTRUSTED_FORWARDED_FOR] a request carries X-Forwarded-For, but the framework does not trust proxies (${this.#setting}), so Diana counts it as ${peer}, the connection's address. Behind a proxy, every client is then counted as the proxy: make the framework trust it. If no proxy is in front of the app, a client sent the header and ignoring it is right. See ${DOCS}. Reported once.`,
    )
  }

  #oneAddress(req: Req, ip: string): void {
    if (this.#address === undefined) this.#address = ip
    let proxied = false
    for (const name of PROXY_HEADERS) {
      const value = this.#view.header(req, name)
      if (value !== undefined && value !== '') {
        proxied = true
        break
      }
    }
    if (ip !== this.#address || !proxied) {
      this.#oneAddressDone = true
      return
    }
    if (++this.#seen < ONE_ADDRESS_REQUESTS) return
    this.#oneAddressDone = true
    if (!isPrivateAddress(ip)) return
    this.#warn(
      `[DIANA_ONE_ADDRESS] the first ${ONE_ADDRESS_REQUESTS} requests all came from ${ip}, a private address, each with a proxy header: it looks like a proxy, and every client behind it shares its quota. Make the framework trust the proxy (${this.#setting}) so that each client is counted by its own address. See ${DOCS}. Reported once.`,
    )
  }
}
