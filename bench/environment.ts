import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { arch, cpus, platform, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** What a reader needs to reproduce a figure: the machine, Node, and the packages measured. */
export interface Environment {
  node: string
  platform: string
  cpus: number
  cpuModel: string
  memoryGb: number
  packages: Record<string, string>
}

export function describeEnvironment(packageNames: readonly string[]): Environment {
  const list = cpus()
  const packages: Record<string, string> = {}
  for (const name of ['diana-limiter', ...packageNames]) packages[name] = packageVersion(name)
  return {
    node: process.version,
    platform: `${platform()} ${arch()}`,
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    packages,
  }
}

export function formatEnvironment(env: Environment): string {
  const versions = Object.entries(env.packages)
    .map(([name, version]) => `${name} ${version}`)
    .join(', ')
  return `Node ${env.node}, ${env.platform}, ${env.cpus} x ${env.cpuModel}, ${env.memoryGb} GB; ${versions}`
}

/**
 * The version of a package as this benchmark loads it, or "not installed". Diana is the copy
 * running this code, found from this module's own file: a `diana` run from an application's
 * `node_modules/.bin` has neither that path nor the working directory inside the package.
 * The others resolve as `import()` here resolves them, from this module, then from the
 * running script and the working directory.
 */
function packageVersion(name: string): string {
  const here = fileURLToPath(import.meta.url)
  if (name === 'diana-limiter') return findOwnPackage(dirname(here)) ?? 'not installed'
  const bases = [here, process.argv[1], join(process.cwd(), 'package.json')].filter(
    (base): base is string => typeof base === 'string' && base.length > 0,
  )
  for (const base of bases) {
    try {
      const manifest = findManifest(createRequire(base), name)
      if (manifest) return manifest
    } catch {
      // Try the next base.
    }
  }
  return 'not installed'
}

function findManifest(require: NodeRequire, name: string): string | undefined {
  for (const dir of require.resolve.paths(name) ?? []) {
    try {
      const json = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8')) as { version?: string }
      if (json.version) return json.version
    } catch {
      // Not in this node_modules.
    }
  }
  return undefined
}

function findOwnPackage(start: string): string | undefined {
  let dir = start
  for (let depth = 0; depth < 8; depth++) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string
        version?: string
      }
      if (json.name === 'diana-limiter') return json.version
    } catch {
      // Keep walking up.
    }
    const parent = dirname(dir)
    if (parent === dir) break
    dir = parent
  }
  return undefined
}
