/** Placeholder until the HTTP benchmark lands (next commit). */
export async function serve(_args: string[]): Promise<number> {
  return 2
}
