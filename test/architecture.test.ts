/**
 * ARCHITECTURE.md stays true as files move: every path it names exists, and its folder map
 * names every folder a newcomer would look for.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const text = readFileSync('ARCHITECTURE.md', 'utf8')

/** Backticked words that look like a repository path: `src/limiter.ts`, `test/redis/`, `.ci/run`. */
function namedPaths(markdown: string): string[] {
  const paths = new Set<string>()
  for (const [, word] of markdown.matchAll(/`([^`\s]+)`/g)) {
    if (word === undefined || !/^[\w.-]+(\/[\w.-]*)*$/.test(word)) continue
    if (!word.includes('/') && !/\.(ts|js|cjs|md|json|yaml)$/.test(word)) continue
    // Package entry points (`diana-limiter/metrics`) are not repository paths.
    if (word.startsWith('diana-limiter/')) continue
    paths.add(word)
  }
  return [...paths]
}

/** Folders under `dir` (repository-relative), without build output, dependencies and dot folders. */
function folders(dir: string): string[] {
  const ignored = new Set(['node_modules', 'dist', 'coverage'])
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !ignored.has(entry.name))
    .filter((entry) => !entry.name.startsWith('.') || entry.name === '.ci')
    .map((entry) => (dir === '.' ? `${entry.name}/` : `${dir}${entry.name}/`))
}

describe('ARCHITECTURE.md', () => {
  const paths = namedPaths(text)

  it('names paths (the check below is not vacuous)', () => {
    expect(paths).toContain('src/limiter.ts')
    expect(paths).toContain('src/stores/redis/')
    expect(paths.length).toBeGreaterThan(30)
  })

  it('names only paths that exist', () => {
    const missing = paths.filter((path) => !existsSync(path))
    expect(missing, 'paths named in ARCHITECTURE.md that do not exist').toEqual([])
  })

  it('maps every top-level folder and every folder of src/, adapters/ and test/', () => {
    const expected = [
      ...folders('.'),
      ...folders('src/'),
      ...folders('src/stores/'),
      ...folders('adapters/'),
      ...folders('test/'),
    ]
    const unmapped = expected.filter((folder) => !text.includes(`\`${folder}\``))
    expect(unmapped, 'folders missing from the folder map of ARCHITECTURE.md').toEqual([])
  })

  it('is linked from the README', () => {
    expect(readFileSync('README.md', 'utf8')).toContain('(ARCHITECTURE.md)')
  })
})
