import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { isAbsolute, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * Loads `modules` in order, for what they register (`registerAlgorithm`, `registerDimension`):
 * registrations live on `globalThis` (see src/registry.ts), so a module that imports the
 * package through its own `import` or `require` registers for this process's validation too.
 * A path (or a file that exists under `cwd`) is taken from `cwd`; any other name is a package,
 * resolved from `cwd` as the app would. ESM and CommonJS modules alike.
 * @returns undefined when every module loaded, else a message naming the one that did not
 */
export async function loadRegistrations(
  modules: readonly string[],
  cwd: string,
): Promise<string | undefined> {
  for (const module of modules) {
    try {
      await import(locate(module, cwd))
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error)
      return `cannot load --require ${JSON.stringify(module)}: ${reason}`
    }
  }
  return undefined
}

function locate(module: string, cwd: string): string {
  const path = resolve(cwd, module)
  const isPath = module.startsWith('.') || isAbsolute(module) || existsSync(path)
  if (isPath) return pathToFileURL(path).href
  try {
    // Resolved from the app's directory, as its own `require` would (and not from wherever
    // this package is installed).
    return pathToFileURL(createRequire(join(cwd, 'noop.js')).resolve(module)).href
  } catch {
    // An ESM-only package has no `require` condition to resolve: let `import` try.
    return module
  }
}
