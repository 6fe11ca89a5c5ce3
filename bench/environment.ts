import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { arch, cpus, platform, totalmem } from 'node:os'
import { dirname, join } from 'node:path'

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
 * The installed version of a package, or "not installed". Resolved from the running script
 * (the `diana` bin inside the package) and then from the working directory, since the bundled
 * CLI has no module-relative path it can rely on in both its ESM and CJS builds.
 */
function packageVersion(name: string): string {
  const bases = [process.argv[1], join(process.cwd(), 'package.json')].filter(
    (base): base is string => typeof base === 'string' && base.length > 0,
  )
  for (const base of bases) {
    try {
      const require = createRequire(base)
      if (name === 'diana-limiter') {
        const own = findOwnPackage(dirname(base))
        if (own) return own
        continue
      }
      const manifest = findManifest(require, name)
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
