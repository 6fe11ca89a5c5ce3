import type { Priority } from './concurrency/priority'

/**
 * Who is asking. Every field is optional: a rule applies only when every dimension it names is
 * present. Registered dimensions (see `registerDimension`) may read further fields.
 */
export interface Subject {
  account?: string
  device?: string
  /** Resource path (the matched route pattern when the framework knows it, else the path). */
  resource?: string
  method?: string
  /**
   * The client address (adapters: as the framework reports it under its trust-proxy setting;
   * IPv4-mapped IPv6 as IPv4, other IPv6 as its `ipv6Subnet` prefix such as `2001:db8:ab00::/56`).
   */
  ip?: string
  /**
   * How much the request matters to an `adaptive-concurrency` rule under pressure: `sheddable`
   * is turned away first, `critical` last (see docs/concurrency.md). Any other value counts as
   * `normal`.
   * @default 'normal'
   */
  priority?: Priority
  readonly [field: string]: string | number | undefined
}

export interface CheckOptions {
  /** Units this request costs against every applicable rule. @default 1 */
  cost?: number
}

/** Options of `limiter.peek`. */
export interface PeekOptions {
  /** Units the request would cost. @default 1 */
  cost?: number
}

/** Options of `limiter.reset`. */
export interface ResetOptions {
  /** Forget only this rule's state (a rule in force, by name); by default every applicable rule's. */
  rule?: string
}

/** Options of `limiter.refund`. */
export interface RefundOptions {
  /** Units to give back (at most what each rule holds as taken). @default 1 */
  cost?: number
  /** Give back to this rule only (a rule in force, by name); by default to every applicable rule. */
  rule?: string
}

/** Built-in strategy names; registered ones are any other string. */
export type BuiltInAlgorithm =
  | 'fixed-window'
  | 'sliding-window'
  | 'token-bucket'
  | 'leaky-bucket'
  | 'concurrency'
  | 'adaptive-concurrency'
/** Built-in dimension names; registered ones are any other string. */
export type BuiltInDimension = 'global' | 'account' | 'device' | 'resource' | 'ip'
