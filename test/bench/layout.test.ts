/**
 * `bench/` is the `diana bench` command, bundled into the package: it must not reach into the
 * tests or the standalone scripts (they are not shipped), and its modules must not import each
 * other in a circle (the CLI loads its HTTP half on demand; a cycle would pull it in eagerly).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name))
}

/** Repository-relative files a source imports (static, dynamic and type-only), relative specifiers only. */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  const found: string[] = []
  for (const [, specifier] of text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = relative(root, resolve(root, dirname(file), specifier as string))
    const candidates = [target, `${target}.ts`, join(target, 'index.ts')]
    found.push(candidates.find((candidate) => existsSync(join(root, candidate))) ?? target)
  }
  return found
}

/** Each file with the files it imports from among `files`. */
function importGraph(files: readonly string[]): Map<string, string[]> {
  return new Map(files.map((file) => [file, imports(file).filter((to) => files.includes(to))]))
}

/** One import cycle in `graph`, as the files around it, or undefined. */
function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>()
  const path: string[] = []
  const visit = (file: string): string[] | undefined => {
    const at = path.indexOf(file)
    if (at >= 0) return [...path.slice(at), file]
    if (done.has(file)) return undefined
    path.push(file)
    for (const next of graph.get(file) ?? []) {
      const cycle = visit(next)
      if (cycle) return cycle
    }
    path.pop()
    done.add(file)
    return undefined
  }
  for (const file of graph.keys()) {
    const cycle = visit(file)
    if (cycle) return cycle
  }
  return undefined
}

describe('bench/ and scripts/bench/', () => {
  const bench = sources('bench')
  const scripts = sources('scripts/bench')

  it('reads the import graph (the checks below are not vacuous)', () => {
    expect(imports('bench/cli.ts')).toContain('bench/decisions.ts')
    expect(imports('bench/cli.ts')).toContain('bench/http.ts')
    expect(
      findCycle(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual(['a', 'b', 'c', 'a'])
    expect(
      findCycle(
        new Map([
          ['a', ['b', 'c']],
          ['b', ['c']],
          ['c', []],
        ]),
      ),
    ).toBeUndefined()
  })

  it('import nothing from test/', () => {
    const offenders = [...bench, ...scripts].filter((file) =>
      imports(file).some((to) => to.startsWith('test/')),
    )
    expect(offenders).toEqual([])
  })

  it('bench/ imports nothing from scripts/', () => {
    expect(bench.filter((file) => imports(file).some((to) => to.startsWith('scripts/')))).toEqual([])
  })

  it('bench/ has no import cycle', () => {
    expect(findCycle(importGraph(bench))).toBeUndefined()
  })
})
