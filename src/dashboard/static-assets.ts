import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A file the page needs, read once when the dashboard is made. */
export interface Asset {
  body: Buffer
  type: string
}

/** The page's own files (in `src/dashboard/assets/`) and uPlot's, by the name the page asks for. */
const OWN = {
  'index.html': 'text/html; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
} as const
const UPLOT = {
  'uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
} as const

let cached: Map<string, Asset> | undefined

/**
 * The static files, from `dist/dashboard/` in the built package (the build copies them there
 * with uPlot's licence; see tsup.config.ts), or from the sources and uPlot's own package when
 * run from source (tests, tsx). Read once; throws naming the missing file.
 */
export function loadAssets(): Map<string, Asset> {
  if (cached !== undefined) return cached
  const here = dirname(fileURLToPath(import.meta.url))
  // Built, this code is in dist/ (a shared chunk) or dist/src/dashboard/ (the entry).
  const builtDir = here.endsWith(`${sep}dist`)
    ? here
    : here.endsWith(`${sep}dist${sep}src${sep}dashboard`)
      ? join(here, '..', '..')
      : undefined
  const assets = new Map<string, Asset>()
  const read = (path: string, type: string, name: string) => {
    try {
      assets.set(name, { body: readFileSync(path), type })
    } catch (error) {
      throw new Error(
        `diana-limiter/dashboard: cannot read its page file ${path} (${(error as Error).message}); reinstall the package or run npm run build`,
      )
    }
  }
  if (builtDir !== undefined) {
    const dir = join(builtDir, 'dashboard')
    for (const [name, type] of Object.entries({ ...OWN, ...UPLOT })) read(join(dir, name), type, name)
  } else {
    for (const [name, type] of Object.entries(OWN)) read(join(here, 'assets', name), type, name)
    const require = createRequire(import.meta.url)
    for (const [name, type] of Object.entries(UPLOT)) read(require.resolve(`uplot/dist/${name}`), type, name)
  }
  cached = assets
  return assets
}
