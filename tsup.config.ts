import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { defineConfig } from 'tsup'

/**
 * The dashboard's page files, and uPlot's (with its MIT licence), copied next to the build:
 * users get the page from the package as it is, with nothing to install or build, and no CDN.
 * `src/dashboard/static-assets.ts` reads them from `dist/dashboard/`.
 */
function copyDashboardAssets(): void {
  const out = 'dist/dashboard'
  mkdirSync(out, { recursive: true })
  for (const name of ['index.html', 'dashboard.js', 'dashboard.css'])
    copyFileSync(join('src/dashboard/assets', name), join(out, name))
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/package.json'))
  for (const name of ['uPlot.iife.min.js', 'uPlot.min.css'])
    copyFileSync(join(uplot, 'dist', name), join(out, name))
  copyFileSync(join(uplot, 'LICENSE'), join(out, 'uPlot.LICENSE'))
}

// Each public entry point is built twice (ESM and CJS) with its own declarations, so that
// `import` and `require` users both get types that match what they load.
export default defineConfig({
  entry: {
    'src/index': 'src/index.ts',
    'src/cli/main': 'src/cli/main.ts',
    'adapters/express': 'adapters/express.ts',
    'adapters/fastify': 'adapters/fastify.ts',
    'adapters/koa': 'adapters/koa.ts',
    'adapters/hono': 'adapters/hono.ts',
    'adapters/nestjs': 'adapters/nestjs.ts',
    'src/metrics/index': 'src/metrics/index.ts',
    'src/dashboard/index': 'src/dashboard/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  // No source maps: they would point at sources the package does not ship.
  sourcemap: false,
  clean: true,
  target: 'node20',
  outDir: 'dist',
  splitting: true,
  // `import.meta.url` in the CJS build (diana-limiter/metrics resolves prom-client from it).
  shims: true,
  onSuccess: async () => copyDashboardAssets(),
})
