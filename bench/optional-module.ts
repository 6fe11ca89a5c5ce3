/**
 * Loads a package the benchmark compares against (rate-limiter-flexible, autocannon, a web
 * framework). They are development dependencies, resolved at run time: a missing one is a
 * clear message naming the install command, never a stack trace.
 */
export class MissingModuleError extends Error {
  constructor(
    readonly moduleName: string,
    purpose: string,
  ) {
    super(
      `${purpose} needs the package "${moduleName}", which is not installed here.\n` +
        `Install it with: npm install --no-save ${moduleName.startsWith('@') || !moduleName.includes('/') ? moduleName : moduleName.split('/')[0]}`,
    )
    this.name = 'MissingModuleError'
  }
}

/**
 * `import(name)`, with "not installed" turned into a {@link MissingModuleError}. The name is a
 * variable on purpose: the bundler must leave it to Node at run time instead of inlining it.
 */
export async function importOptional<T>(name: string, purpose: string): Promise<T> {
  try {
    return (await import(name)) as T
  } catch (error) {
    if (isNotFound(error, name)) throw new MissingModuleError(name, purpose)
    throw error
  }
}

export function isNotFound(error: unknown, name: string): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (code === 'ERR_PACKAGE_PATH_NOT_EXPORTED') return true
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return false
  // Only the module asked for: a broken install of one of its own dependencies is a real error.
  const message = String((error as Error).message)
  return message.includes(`'${name}'`) || message.includes(`"${name}"`) || message.includes(name)
}

/** CommonJS packages arrive as `{ default: exports }` through `import()`; this unwraps either shape. */
export function interop<T>(module: T | { default: T }): T {
  const inner = (module as { default?: T }).default
  return inner === undefined ? (module as T) : inner
}
