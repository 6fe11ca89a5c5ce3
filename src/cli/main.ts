/**
 * `diana <command> [...]`. Each command lives with the concept it serves and is loaded only
 * when asked for, so `diana validate` never pays for the benchmark's dependencies.
 */
type Command = { summary: string; run: (args: string[]) => Promise<number> }

const commands: Record<string, () => Promise<Command>> = {
  validate: async () => (await import('../config/validate-command')).validateCommand,
  bench: async () => (await import('../../bench/cli')).benchCommand,
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv
  const load = name === undefined ? undefined : commands[name]
  if (!load) {
    const lines = await Promise.all(
      Object.entries(commands).map(
        async ([key, loader]) => `  diana ${key.padEnd(10)} ${(await loader()).summary}`,
      ),
    )
    process.stderr.write(`${name ? `diana: unknown command "${name}"\n` : ''}usage:\n${lines.join('\n')}\n`)
    return 2
  }
  return (await load()).run(args)
}
