import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common'
import { Reflector } from '@nestjs/core'
import type { Decision } from '../../src/decision'
import { isPromiseLike } from '../../src/maybe-async'
import { PROBLEM_TYPES } from '../core/problem'
import { sendsAsProblem, takeProblem } from './bindings'
import type { DianaCore, NestGate } from './core'
import type { RateLimitMetadata } from './decorators'
import {
  RateLimitExceededException,
  RateLimiterUnavailableException,
  type RateLimitProblem,
} from './exceptions'
import { DIANA_CORE, RATE_LIMIT_METADATA, SKIP_RATE_LIMIT_METADATA } from './tokens'

/** What a route asks of the guard, read once per handler and controller from their metadata. */
type RoutePlan = { skip: true } | { skip: false; rules: RateLimitMetadata | undefined }

const SKIP: RoutePlan = { skip: true }
const MODULE_RULES: RoutePlan = { skip: false, rules: undefined }

/** Marks a request once checked: the guard both global and on a controller counts it once. */
const kChecked = Symbol.for('diana-limiter.nestjs.checked')

/**
 * The Nest guard: limits HTTP requests with the module's rules (or a route's `@RateLimit`
 * rules), skips `@SkipRateLimit()` routes, sets the rate-limit headers, puts the decision on
 * the request (`req.rateLimit`) and throws {@link RateLimitExceededException} for a denied
 * request. Use it for every route (`{ provide: APP_GUARD, useClass: DianaGuard }`) or per
 * controller or handler (`@UseGuards(DianaGuard)`), after the guard that authenticates, so
 * that `identify` can read what it found (`req.user`). Other contexts (microservices,
 * WebSockets, GraphQL) are let through.
 */
export class DianaGuard implements CanActivate {
  readonly #core: DianaCore
  readonly #reflector: Reflector
  /** Plans by controller and handler: metadata is fixed once the app is built. */
  readonly #plans = new WeakMap<object, WeakMap<object, RoutePlan>>()

  constructor(core: DianaCore, reflector: Reflector) {
    this.#core = core
    this.#reflector = reflector
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true
    const plan = this.#plan(context.getClass(), context.getHandler())
    if (plan.skip) return true
    // The request and response are the first two arguments of an HTTP context; read directly,
    // as Nest's own exception filter does, since switchToHttp() makes three closures per call.
    const req = context.getArgByIndex<Record<symbol, unknown>>(0)
    const res = context.getArgByIndex<object>(1)
    if (req[kChecked] === true) return true
    req[kChecked] = true
    const gate = plan.rules === undefined ? this.#core.gate : this.#core.routeGate(plan.rules)
    return this.#run(gate, req, res)
  }

  #run(gate: NestGate, req: object, res: object): boolean | Promise<boolean> {
    // Decided at once (a memory store, synchronous hooks), the guard answers synchronously and
    // Nest goes on without waiting for a promise.
    const pass = gate.handle(req, res)
    if (pass === true) return true
    if (!isPromiseLike(pass)) return refuse(req, res)
    return pass.then((yes) => yes || refuse(req, res))
  }

  #plan(controller: object, handler: object): RoutePlan {
    let byHandler = this.#plans.get(controller)
    if (byHandler === undefined) {
      byHandler = new WeakMap()
      this.#plans.set(controller, byHandler)
    }
    let plan = byHandler.get(handler)
    if (plan === undefined) {
      const targets = [handler as () => void, controller as () => void]
      const skip = this.#reflector.getAllAndOverride<boolean | undefined>(SKIP_RATE_LIMIT_METADATA, targets)
      const rules = this.#reflector.getAllAndOverride<RateLimitMetadata | undefined>(
        RATE_LIMIT_METADATA,
        targets,
      )
      plan = skip === true ? SKIP : rules === undefined ? MODULE_RULES : { skip: false, rules }
      byHandler.set(handler, plan)
    }
    return plan
  }
}

/**
 * A request the gate stopped: denied (thrown for Nest's exception filters), answered by
 * `onLimited`, or its client gone while it was held. The last two have nothing left to send:
 * false makes Nest stop the request, and its filter sees the response already sent.
 */
function refuse(req: object, res: object): false {
  const problem = takeProblem(res)
  if (problem === undefined) return false
  const body = JSON.parse(problem.body) as RateLimitProblem
  sendsAsProblem(res, body)
  if (body.type === PROBLEM_TYPES.storeUnavailable) {
    throw new RateLimiterUnavailableException(body)
  }
  throw new RateLimitExceededException(body, problem.status, (req as { rateLimit?: Decision }).rateLimit)
}

// Applied by hand rather than as `@Injectable()` and `@Inject()` syntax: the package is built
// without decorator metadata (`design:paramtypes`), so every parameter names its token.
Injectable()(DianaGuard)
Inject(DIANA_CORE)(DianaGuard, undefined as unknown as string, 0)
Inject(Reflector)(DianaGuard, undefined as unknown as string, 1)
