import type { Limiter } from '../../src/limiter'
import type { Rule } from '../../src/rules/rule'
import { Gate } from '../core/gate'
import { type AdapterOptions, HOOK_NAMES } from '../core/options'
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
    })
  }

  /** The gate of a `@RateLimit` rule set, built at its first request. */
  routeGate(metadata: RateLimitMetadata): NestGate {
    let gate = this.#routes.get(metadata)
    if (gate === undefined) {
      gate = this.#routeGateOf(metadata)
      this.#routes.set(metadata, gate)
    }
    return gate
  }

  /**
   * A gate over the module's store with the module's rules and the route's merged by name (or
   * the route's alone): the module's rules count in the same place as on every other route
   * (the store keys a rule's counters by its definition), and one check decides all of them,
   * all or nothing. Handed the store itself, as in the module's options, so a store that says
   * `onFailure: 'closed'` is read alike. Never closed: closing it would close the shared store.
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
    const options = {
      ...this.#hooks,
      ...response,
      rules,
      store: this.limiter.sharedStore,
      name: this.limiter.name,
      ...(clock === undefined ? {} : { clock }),
    } as DianaNestOptions
    return new Gate(options, nestBinding, WHERE)
  }

  /** Closes the limiter if the module built it (and so its store, which route gates share). */
  close(): Promise<void> {
    return this.gate.close()
  }
}
