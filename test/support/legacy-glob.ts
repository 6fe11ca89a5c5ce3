/**
 * The regular-expression glob matcher Diana used before `src/rules/glob.ts` (kept as the reference
 * meaning of a glob, for equivalence tests; it backtracks, so never for hostile paths).
 *
 * Compiles a path glob to a RegExp: `*` matches within one segment, `**` across segments,
 * `?` one character. As in Ant and Spring patterns, a trailing `/**` also matches the bare
 * prefix, so `/api/seckill/**` covers `/api/seckill` too.
 */
export function legacyGlobToRegExp(glob: string): RegExp {
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string
    if (char === '*') {
      if (glob[i + 1] === '*') {
        i++
        const atEnd = i === glob.length - 1
        if (atEnd && source.endsWith('/')) {
          source = `${source.slice(0, -1)}(?:/.*)?`
        } else if (glob[i + 1] === '/') {
          i++
          source += '(?:.*/)?'
        } else {
          source += '.*'
        }
      } else {
        source += '[^/]*'
      }
    } else if (char === '?') {
      source += '[^/]'
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${source}$`)
}
