/** The closest candidate to a misspelled word, if it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const candidate of candidates) {
    // The length difference alone already rules a candidate out: no quadratic work for a
    // hostile 100 KB word.
    if (Math.abs(word.length - candidate.length) > Math.max(2, Math.floor(candidate.length / 3))) continue
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/** `; did you mean "x"?` to append to a message about `word`, or "" when no candidate is close. */
export function hint(word: string, candidates: Iterable<string>): string {
  const guess = didYouMean(word, candidates)
  return guess === undefined ? '' : `; did you mean "${guess}"?`
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}

/** A word a client or a file chose, as shown in a message: cut at 64 characters. */
export function shortened(word: string): string {
  return word.length > 64 ? `${word.slice(0, 64)}…` : word
}

/** {@link shortened}, quoted. */
export function quoted(word: string): string {
  return JSON.stringify(shortened(word))
}
