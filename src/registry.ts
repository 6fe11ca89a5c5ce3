import { builtInAlgorithms } from '../algorithms/index'
import type { Algorithm } from './algorithm'
import { ADAPTIVE_CONCURRENCY, adaptiveConcurrency } from './concurrency/adaptive-algorithm'
import { builtInDimensions, type Dimension, fieldDimension } from './dimension'

const NAME = /^[a-z][a-z0-9-]{0,63}$/

interface Registrations {
  algorithms: Map<string, Algorithm>
  dimensions: Map<string, Dimension>
}

/**
 * Registrations are shared by every copy of the package in the process, kept on `globalThis`
 * under a registered symbol: an app may load both the ESM and the CJS build (its own `import`,
 * a dependency's `require`), and a dimension registered through one must be known to limiters
 * built through the other. The built-ins stay each copy's own, so two versions of the package
 * in one process each keep the strategies they were written with.
 */
const REGISTRY = Symbol.for('diana-limiter.registrations')
const shared = globalThis as { [REGISTRY]?: Registrations }
shared[REGISTRY] ??= { algorithms: new Map(), dimensions: new Map() }
const registered = shared[REGISTRY]
const builtIn: Registrations = {
  algorithms: new Map<string, Algorithm>([...builtInAlgorithms, [ADAPTIVE_CONCURRENCY, adaptiveConcurrency]]),
  dimensions: new Map<string, Dimension>(builtInDimensions),
}

/**
 * Adds a strategy under `name`, usable by rules created afterwards. Names are lower-case
 * kebab-case; an existing name cannot be replaced, so a rule file always means the same thing.
 */
export function registerAlgorithm(name: string, algorithm: Algorithm): void {
  checkName('algorithm', name, 'algorithms')
  if (
    typeof algorithm?.step !== 'function' ||
    !Number.isInteger(algorithm.stateSize) ||
    algorithm.stateSize < 1
  ) {
    throw new TypeError(
      `registerAlgorithm("${name}"): expected { stateSize, acceptsBurst, step(state, input, rule) }`,
    )
  }
  registered.algorithms.set(name, algorithm)
}

/**
 * Adds a dimension under `name`. Pass a {@link Dimension}, or nothing to count per
 * `subject[name]` (e.g. `registerDimension('tenant')` reads `subject.tenant`).
 */
export function registerDimension(name: string, dimension: Dimension = fieldDimension(name)): void {
  checkName('dimension', name, 'dimensions')
  if (typeof dimension?.valueFrom !== 'function') {
    throw new TypeError(`registerDimension("${name}"): expected { valueFrom(subject) }`)
  }
  registered.dimensions.set(name, dimension)
}

export function findAlgorithm(name: string): Algorithm | undefined {
  return builtIn.algorithms.get(name) ?? registered.algorithms.get(name)
}

/**
 * Whether rules of the algorithm `name` hold permits while a request is in flight rather than
 * count units: `adaptive-concurrency`, and every algorithm marked `permits` (`concurrency`).
 * Their denials mean overload, and their units come back by `release()`, not by a refund.
 */
export function holdsPermits(name: string): boolean {
  return name === ADAPTIVE_CONCURRENCY || findAlgorithm(name)?.permits === true
}

export function findDimension(name: string): Dimension | undefined {
  return builtIn.dimensions.get(name) ?? registered.dimensions.get(name)
}

export function algorithmNames(): string[] {
  return [...builtIn.algorithms.keys(), ...registered.algorithms.keys()]
}

export function dimensionNames(): string[] {
  return [...builtIn.dimensions.keys(), ...registered.dimensions.keys()]
}

function checkName(kind: string, name: string, table: keyof Registrations): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(
      `${kind} name ${JSON.stringify(name)} must be lower-case kebab-case, e.g. "my-${kind}"`,
    )
  }
  if (builtIn[table].has(name) || registered[table].has(name)) {
    throw new TypeError(`${kind} "${name}" is already registered`)
  }
}
