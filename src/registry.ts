import { builtInAlgorithms } from '../algorithms/index'
import type { Algorithm } from './algorithm'
import { builtInDimensions, type Dimension, fieldDimension } from './dimension'

const NAME = /^[a-z][a-z0-9-]{0,63}$/

interface Registry {
  algorithms: Map<string, Algorithm>
  dimensions: Map<string, Dimension>
}

/**
 * One registry per process, kept on `globalThis` under a registered symbol: an app may load both
 * the ESM and the CJS build (its own `import`, a dependency's `require`), and a dimension
 * registered through one must be known to limiters built through the other.
 */
const REGISTRY = Symbol.for('diana-limiter.registry')
const shared = globalThis as { [REGISTRY]?: Registry }
shared[REGISTRY] ??= {
  algorithms: new Map<string, Algorithm>(builtInAlgorithms),
  dimensions: new Map<string, Dimension>(builtInDimensions),
}
const { algorithms, dimensions } = shared[REGISTRY]

/**
 * Adds a strategy under `name`, usable by rules created afterwards. Names are lower-case
 * kebab-case; an existing name cannot be replaced, so a rule file always means the same thing.
 */
export function registerAlgorithm(name: string, algorithm: Algorithm): void {
  checkName('algorithm', name, algorithms)
  if (
    typeof algorithm?.step !== 'function' ||
    !Number.isInteger(algorithm.stateSize) ||
    algorithm.stateSize < 1
  ) {
    throw new TypeError(
      `registerAlgorithm("${name}"): expected { stateSize, acceptsBurst, step(state, input, rule) }`,
    )
  }
  algorithms.set(name, algorithm)
}

/**
 * Adds a dimension under `name`. Pass a {@link Dimension}, or nothing to count per
 * `subject[name]` (e.g. `registerDimension('tenant')` reads `subject.tenant`).
 */
export function registerDimension(name: string, dimension: Dimension = fieldDimension(name)): void {
  checkName('dimension', name, dimensions)
  if (typeof dimension?.valueFrom !== 'function') {
    throw new TypeError(`registerDimension("${name}"): expected { valueFrom(subject) }`)
  }
  dimensions.set(name, dimension)
}

export function findAlgorithm(name: string): Algorithm | undefined {
  return algorithms.get(name)
}

export function findDimension(name: string): Dimension | undefined {
  return dimensions.get(name)
}

export function algorithmNames(): string[] {
  return [...algorithms.keys()]
}

export function dimensionNames(): string[] {
  return [...dimensions.keys()]
}

function checkName(kind: string, name: string, taken: Map<string, unknown>): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(
      `${kind} name ${JSON.stringify(name)} must be lower-case kebab-case, e.g. "my-${kind}"`,
    )
  }
  if (taken.has(name)) throw new TypeError(`${kind} "${name}" is already registered`)
}
