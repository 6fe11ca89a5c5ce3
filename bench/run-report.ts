/**
 * What every `diana bench` run says about itself, decisions and HTTP alike: the environment
 * before the first figure, and the Markdown file of `--out` after the last.
 */
import { writeFile } from 'node:fs/promises'
import { type Environment, formatEnvironment } from './environment'
import type { BenchOptions } from './options'
import { renderMarkdown, type Table } from './report'

/** The environment goes first: to stdout for people, to stderr when stdout is JSON lines. */
export function announce(options: BenchOptions, env: Environment): void {
  const stream = options.json ? process.stderr : process.stdout
  const what = options.mode === 'http' ? 'HTTP servers' : 'decisions'
  stream.write(
    `diana bench (${what}): ${options.durationS} s measured per contender and scenario in ${options.samples} samples ` +
      `after a warm-up sample; medians with min–max\n${formatEnvironment(env)}\n`,
  )
}

export async function writeMarkdown(
  options: BenchOptions,
  env: Environment,
  table: Table,
  note: string,
): Promise<void> {
  const text =
    `# diana bench\n\n` +
    `\`\`\`sh\ndiana bench ${options.argv.join(' ')}\n\`\`\`\n\n` +
    `${formatEnvironment(env)}\n\n` +
    `${options.durationS} s measured per contender and scenario in ${options.samples} samples after a warm-up sample; ` +
    `medians with min–max.\n\n${renderMarkdown(table)}${note ? `\n${note.trim()}\n` : ''}`
  await writeFile(options.out as string, text)
  process.stderr.write(`wrote ${options.out}\n`)
}
