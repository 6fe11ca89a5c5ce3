import type { EventEmitter } from 'node:events'
import { createLimiter, type Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { Gate } from '../core/gate'
import { type AdapterOptions, failsClosed, HOOK_NAMES } from '../core/options'
import { shareOutages } from '../core/outage'
import { nestBinding } from './bindings'
import type { RateLimitMetadata } from './decorators'

/**
 * Options of `DianaModule.forRoot`: a limiter (or its options) plus the adapter hooks, as in the
 * other adapters. Hooks receive the platform's own request: Express's `req` on
 * @nestjs/platform-express, Fastify's `request` on @nestjs/platform-fastify (`onLimited`: its
 * response or reply too).
 */
// biome-ignore lint/suspicious/noExplicitAny: the request type depends on the platform the app picks
export type DianaNestOptions<Req = any, Res = any> = AdapterOptions<Req, Res>

// biome-ignore lint/suspicious/noExplicitAny: see DianaNestOptions
export type NestGate = Gate<any, any>

export const WHERE = 'diana-limiter/nestjs'

/** The limiter events that metrics, the dashboard and logs follow on `DIANA_LIMITER`. */
const RELAYED: readonly string[] = ['decision', 'denied']

/**
 * What `DianaModule` provides to every `DianaGuard`: the module's limiter and gate, and a gate
 * per `@RateLimit` rule set. The limiter is built (and every option checked) when the module
 * is created, so a bad option stops the app at startup rather than failing its requests.
 */
export class DianaCore {
  readonly limiter: Limiter
  /** The module's gate, for every route without `@RateLimit`. */
  readonly gate: NestGate
  readonly #options: DianaNestOptions
  readonly #hooks: Record<string, unknown>
  /** Gates of `@RateLimit` rule sets, by their metadata object (one per decorator use). */
  #routes = new WeakMap<RateLimitMetadata, NestGate>()
  /** Limiters of the route gates in force, each with its relays to the module's limiter. */
  readonly #relays = new Map<Limiter, Map<string, (...args: unknown[]) => void>>()

  constructor(options: DianaNestOptions) {
    this.gate = new Gate(options, nestBinding, WHERE)
    this.limiter = this.gate.limiter
    this.#options = options
    this.#hooks = {}
    for (const hook of HOOK_NAMES) if (hook in options) this.#hooks[hook] = options[hook]
    // A reload of the module's rules (config file, remote push) reaches `@RateLimit` routes
    // too: their merged rule sets are built again from the rules now in force.
    this.limiter.on('config', () => {
      this.#routes = new WeakMap()
      for (const route of [...this.#relays.keys()]) this.#unrelay(route, RELAYED)
      this.#relays.clear()
    })
    // A route gate decides with a limiter of its own, whose events nobody else sees: what
    // listens on the module's limiter (`DIANA_LIMITER`: metrics, the dashboard, a log of
    // denials) hears the route limiters' `decision` and `denied` too. Relayed only while
    // someone listens, since a limiter with a listener builds every event and times every check.
    const events = this.limiter as unknown as EventEmitter
    events.on('newListener', (event: string) => {
      if (RELAYED.includes(event)) for (const route of this.#relays.keys()) this.#relay(route, event)
    })
    events.on('removeListener', (event: string) => {
      if (!RELAYED.includes(event) || this.limiter.listenerCount(event) > 0) return
      for (const route of this.#relays.keys()) this.#unrelay(route, [event])
    })
  }

  #relay(route: Limiter, event: string): void {
    const relays = this.#relays.get(route)
    if (relays === undefined || relays.has(event)) return
    const relay = (...args: unknown[]) => (this.limiter as unknown as EventEmitter).emit(event, ...args)
    relays.set(event, relay)
    ;(route as unknown as EventEmitter).on(event, relay)
  }

  #unrelay(route: Limiter, events: readonly string[]): void {
    const relays = this.#relays.get(route)
    for (const event of events) {
      const relay = relays?.get(event)
      if (relay === undefined) continue
      relays?.delete(event)
      ;(route as unknown as EventEmitter).off(event, relay)
    }
  }

  /** The gate of a `@RateLimit` rule set, built at its first request. */
  routeGate(metadata: RateLimitMetadata): NestGate {
    let gate = this.#routes.get(metadata)
    if (gate === undefined) {
      gate = this.#routeGateOf(metadata)
      this.#routes.set(metadata, gate)
      this.#relays.set(gate.limiter, new Map())
      for (const event of RELAYED) {
        if (this.limiter.listenerCount(event) > 0) this.#relay(gate.limiter, event)
      }
    }
    return gate
  }

  /**
   * A gate over the module's store with the module's rules and the route's merged by name (or
   * the route's alone): the module's rules count in the same place as on every other route
   * (the store keys a rule's counters by its definition), and one check decides all of them,
   * all or nothing. Its limiter is handed the store built, not the options that built it, so
   * whether the store fails closed is passed on with its outages. Never closed: closing it would
   * close the shared store.
   */
  #routeGateOf(metadata: RateLimitMetadata): NestGate {
    const own = metadata.rules
    let rules: Rule[]
    if (!metadata.inherit) rules = [...own]
    else {
      const byName = new Map(own.map((rule) => [rule.name, rule]))
      rules = this.limiter.rules.map((rule) => byName.get(rule.name) ?? rule)
      const inForce = new Set(rules.map((rule) => rule.name))
      for (const rule of own) if (!inForce.has(rule.name)) rules.push(rule)
    }
    const clock = (this.#options as { clock?: unknown }).clock
    // A config file's `response` section applies where the options say nothing, as on the
    // module's gate (which reads it from the limiter that read the file).
    const file = (this.limiter as { config?: { response?: object } }).config?.response
    const response = file === undefined ? {} : { response: { ...file, ...(this.#hooks.response as object) } }
    const limiter = createLimiter({
      rules,
      store: this.limiter.sharedStore,
      name: this.limiter.name,
      ...(clock === undefined ? {} : { clock: clock as () => number }),
    })
    // The store's outages are followed through the module's limiter, which heard them from the
    // start: this limiter may be built during one (its route's first request), and is replaced
    // on every reload without being closed, so it keeps no listener on the store.
    limiter.detachStoreEvents()
    shareOutages(
      limiter,
      this.limiter,
      failsClosed((this.#options as { store?: unknown }).store, this.limiter),
    )
    return new Gate({ ...this.#hooks, ...response, limiter } as DianaNestOptions, nestBinding, WHERE)
  }

  /** Closes the limiter if the module built it (and so its store, which route gates share). */
  close(): Promise<void> {
    return this.gate.close()
  }
}
