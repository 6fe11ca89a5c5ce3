import { defineConfig } from 'tsup'

// Each public entry point is built twice (ESM and CJS) with its own declarations, so that
// `import` and `require` users both get types that match what they load.
export default defineConfig({
  entry: { 'src/index': 'src/index.ts', 'src/cli/main': 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  outDir: 'dist',
  splitting: true,
})
