import type { BenchOptions } from './options'

/** Placeholder until the HTTP benchmark lands (next commit). */
export async function runHttpBench(_options: BenchOptions, _io: unknown): Promise<number> {
  process.stderr.write('diana bench: HTTP adapters are not available yet\n')
  return 2
}
