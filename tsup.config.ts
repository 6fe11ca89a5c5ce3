import { defineConfig } from 'tsup'

// Each public entry point is built twice (ESM and CJS) with its own declarations, so that
// `import` and `require` users both get types that match what they load.
export default defineConfig({
  entry: {
    'src/index': 'src/index.ts',
    'src/cli/main': 'src/cli/main.ts',
    'adapters/express': 'adapters/express.ts',
    'adapters/fastify': 'adapters/fastify.ts',
    'adapters/koa': 'adapters/koa.ts',
    'adapters/nestjs': 'adapters/nestjs.ts',
    'src/metrics/index': 'src/metrics/index.ts',
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
})
