/**
 * The shop is the example users copy: it may reach Diana only through the published package
 * names, and its domain must not know how the sale is stored.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const SHOP = join(import.meta.dirname, '../../examples/flash-sale')

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|js)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
    (match) => match[1] as string,
  )
}

describe('the flash-sale shop', () => {
  it('imports Diana only as diana-limiter/..., never from the repository sources', () => {
    const offending = sources(SHOP).flatMap((file) =>
      importsOf(file)
        .filter((specifier) => /^\.\.\/(\.\.\/)*(src|adapters|algorithms|bench)(\/|$)/.test(specifier))
        .map((specifier) => `${relative(SHOP, file)} -> ${specifier}`),
    )
    expect(sources(SHOP).length).toBeGreaterThan(10)
    expect(offending).toEqual([])
  })

  it('keeps domain/ free of storage: no ioredis, no storage/ implementation', () => {
    const offending = sources(join(SHOP, 'domain')).flatMap((file) =>
      importsOf(file)
        .filter((specifier) => specifier === 'ioredis' || specifier.includes('storage/'))
        .map((specifier) => `${relative(SHOP, file)} -> ${specifier}`),
    )
    expect(offending).toEqual([])
  })
})
