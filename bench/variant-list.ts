import { hint } from '../src/did-you-mean'
import { UsageError } from './flags'

/**
 * `--variants a,b`: the variants named, in the order given, each once; every variant when
 * `raw` is undefined. An unknown name is a UsageError naming the known ones.
 */
export function variantList<Variant extends string>(
  raw: string | undefined,
  known: readonly Variant[],
): Variant[] {
  if (raw === undefined) return [...known]
  const chosen: Variant[] = []
  for (const name of raw.split(',').map((part) => part.trim())) {
    if (!(known as readonly string[]).includes(name)) {
      throw new UsageError(
        `--variants: unknown variant "${name}"${hint(name, known)} (known: ${known.join(', ')})`,
      )
    }
    if (!chosen.includes(name as Variant)) chosen.push(name as Variant)
  }
  return chosen
}
