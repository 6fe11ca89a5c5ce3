import { describe, expect, it } from 'vitest'
import { compilePathGlobs } from '../../src/rules/compile-rules'
import { compileGlob, compileGlobs } from '../../src/rules/glob'
import { legacyGlobToRegExp } from '../support/legacy-glob'
import { seededRandom } from '../support/prng'

// Pieces that make the interesting cases common: `**` next to `/`, at the ends, and doubled.
const GLOB_PIECES = ['a', 'b', '/', '/', '*', '**', '**/', '/**', '?', '.', '-']
const PATH_PIECES = ['a', 'b', 'ab', '/', '/', '.', '-', '*', '?', 'é', '\u{1F600}']

describe('path globs', () => {
  it('mean what they meant as regular expressions: 200,000 random glob and path pairs', () => {
    const random = seededRandom(11)
    let matched = 0
    for (let g = 0; g < 4_000; g++) {
      let glob = ''
      for (let n = random.int(0, 7); n > 0; n--) glob += random.pick(GLOB_PIECES)
      const compiled = compileGlob(glob)
      const reference = legacyGlobToRegExp(glob)
      for (let p = 0; p < 50; p++) {
        let path = ''
        for (let n = random.int(0, 9); n > 0; n--) path += random.pick(PATH_PIECES)
        const expected = reference.test(path)
        if (compiled.test(path) !== expected)
          expect({ glob, path, matches: !expected }).toBe('the same answer')
        if (expected) matched++
      }
    }
    // Enough of both answers for the comparison to mean something.
    expect(matched).toBeGreaterThan(10_000)
    expect(matched).toBeLessThan(180_000)
  })

  it('several globs compiled together match what any of them does: 2,000 random lists × 50 paths', () => {
    const random = seededRandom(23)
    let matched = 0
    for (let g = 0; g < 2_000; g++) {
      const globs: string[] = []
      for (let k = random.int(0, 4); k > 0; k--) {
        let glob = ''
        for (let n = random.int(0, 7); n > 0; n--) glob += random.pick(GLOB_PIECES)
        globs.push(glob)
      }
      const compiled = compileGlobs(globs)
      const references = globs.map(legacyGlobToRegExp)
      for (let p = 0; p < 50; p++) {
        let path = ''
        for (let n = random.int(0, 9); n > 0; n--) path += random.pick(PATH_PIECES)
        const expected = references.some((reference) => reference.test(path))
        if (compiled.test(path) !== expected)
          expect({ globs, path, matches: !expected }).toBe('the same answer')
        if (expected) matched++
      }
    }
    expect(matched).toBeGreaterThan(10_000)
    expect(matched).toBeLessThan(90_000)
  })

  it('a rule with capitals also matches in lower case, as one automaton', () => {
    // Deliberate over-matching: where routing is case-sensitive `/API/**` also limits `/api/x`.
    const compiled = compilePathGlobs(['/API/Seckill/**', '/İx'])
    for (const path of ['/API/Seckill/1', '/api/seckill/1', '/İx', '/i\u0307x'])
      expect([path, compiled.test(path)]).toEqual([path, true])
    for (const path of ['/Api/seckill/1', '/API/seckill/1', '/ix'])
      expect([path, compiled.test(path)]).toEqual([path, false])
  })

  it.each([
    [
      '/api/seckill/**',
      ['/api/seckill', '/api/seckill/', '/api/seckill/1', '/api/seckill/1/buy'],
      ['/api/seckillx', '/api', '/api/seckil'],
    ],
    ['/items/*', ['/items/1', '/items/', '/items/a.b'], ['/items', '/items/1/2', '/itemsx/1']],
    ['/a/**/b', ['/a/b', '/a/x/b', '/a/x/y/b'], ['/a/xb', '/ab', '/a/b/c']],
    ['/a/?', ['/a/b', '/a/é'], ['/a/', '/a/bc', '/a//']],
    ['**', ['', '/', '/any/thing'], []],
    ['/**', ['', '/', '/any/thing'], ['x']],
    ['/files/*.pdf', ['/files/a.pdf', '/files/.pdf'], ['/files/a/b.pdf', '/files/a.pdfx']],
    ['/a**b', ['/ab', '/a/x/b', '/axb'], ['/a/x/c']],
    ['/v{1}/[x]', ['/v{1}/[x]'], ['/v1/x']],
  ])('%s', (glob, matching, others) => {
    const compiled = compileGlob(glob)
    for (const path of matching) expect([path, compiled.test(path)]).toEqual([path, true])
    for (const path of others) expect([path, compiled.test(path)]).toEqual([path, false])
  })

  it('stay right once a glob has met more path shapes than it remembers', () => {
    // `a` then exactly eight characters: a glob whose deterministic form has hundreds of
    // states, so long random paths keep filling and restarting its table.
    const glob = '**a????????'
    const compiled = compileGlob(glob)
    const reference = legacyGlobToRegExp(glob)
    const random = seededRandom(7)
    let matched = 0
    for (let p = 0; p < 2_000; p++) {
      let path = ''
      for (let n = random.int(0, 60); n > 0; n--) path += random.pick(['a', 'b', 'a', '/'])
      const expected = reference.test(path)
      expect(compiled.test(path)).toBe(expected)
      if (expected) matched++
    }
    expect(matched).toBeGreaterThan(100)
  })

  it('stay right on paths long enough to be read partly without the table', () => {
    // Thousands of characters of shapes the table cannot hold: stretches are walked directly,
    // then the table is tried again; every answer must still be the regular expression's.
    const globs = ['**a????????', '**b??????a', '/**/a*b*a']
    const compiled = compileGlobs(globs)
    const references = globs.map(legacyGlobToRegExp)
    const random = seededRandom(5)
    let matched = 0
    for (let p = 0; p < 200; p++) {
      let path = ''
      for (let n = random.int(0, 6_000); n > 0; n--) path += random.pick(['a', 'b', 'a', '/', 'x'])
      const expected = references.some((reference) => reference.test(path))
      expect(compiled.test(path)).toBe(expected)
      if (expected) matched++
    }
    expect(matched).toBeGreaterThan(5)
    expect(matched).toBeLessThan(195)
  })
})
