import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalResource, FOLDING_ROUTING, targetPath } from '../../../adapters/core/resource-path'

describe('resource spellings', () => {
  const strict = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false }
  it.each([
    ['/api/seckill/1', '/api/seckill/1', '/api/seckill/1'],
    ['/API/Seckill/1/', '/api/seckill/1', '/API/Seckill/1/'],
    ['/api/%53eckill/%31', '/api/seckill/1', '/api/Seckill/1'],
    ['/api/%2573', '/api/%73', '/api/%73'],
    ['/api/%E2%82%AC/%FF', '/api/€/%ff', '/api/€/%FF'],
    ['/', '/', '/'],
    ['//', '/', '//'],
    ['/api//x//', '/api//x', '/api//x//'],
  ])('%s is %s where routing folds, %s where it does not', (path, folded, kept) => {
    expect(canonicalResource(path, FOLDING_ROUTING)).toBe(folded)
    expect(canonicalResource(path, strict)).toBe(kept)
  })

  it('folds duplicate slashes only where the routing does', () => {
    expect(canonicalResource('//api///x', { ...strict, ignoreDuplicateSlashes: true })).toBe('/api/x')
  })

  it('decodes escapes as decodeURIComponent run by run did, bad runs and all', () => {
    // The decoding before it stopped throwing per bad run: the reference for every spelling.
    const reference = (path: string) =>
      path.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
        try {
          return decodeURIComponent(run)
        } catch {
          return run
        }
      })
    // Bytes around every boundary of UTF-8 (ASCII, continuations, overlong and surrogate leads,
    // past U+10FFFF) in either case of hex, with the near misses of an escape between them.
    const byte = fc.oneof(
      fc.integer({ min: 0, max: 0xff }),
      fc.constantFrom(0x7f, 0x80, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff),
    )
    const hex = (b: number, upper: boolean) => {
      const digits = b.toString(16).padStart(2, '0')
      return `%${upper ? digits.toUpperCase() : digits}`
    }
    const anyEscape = fc.tuple(byte, fc.boolean()).map(([b, upper]) => hex(b, upper))
    // A lead byte followed by bytes at the edges of each lead's allowed second-byte range.
    const sequence = fc
      .tuple(
        fc.constantFrom(0xc1, 0xc2, 0xe0, 0xe1, 0xed, 0xee, 0xf0, 0xf1, 0xf4, 0xf5),
        fc.array(fc.constantFrom(0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.boolean(),
      )
      .map(([lead, rest, upper]) => [lead, ...rest].map((b) => hex(b, upper)).join(''))
    const validChar = fc.constantFrom('é', '€', '😀', 'ß').map((c) => encodeURIComponent(c))
    const token = fc.oneof(
      anyEscape,
      sequence,
      validChar,
      fc.constantFrom('/', 'a', 'Z', '%', '%4', '%g1', '%%41'),
    )
    const routing = { caseSensitive: true, ignoreTrailingSlash: false, ignoreDuplicateSlashes: false }
    fc.assert(
      fc.property(fc.array(token, { maxLength: 24 }), (tokens) => {
        const path = `/${tokens.join('')}`
        expect(canonicalResource(path, routing)).toBe(reference(path))
      }),
      { numRuns: 5000 },
    )
  })

  it.each([
    ['/api/x?y=1#z', '/api/x'],
    ['/api/x#z?y', '/api/x'],
    ['http://example.com/api/x?y', '/api/x'],
    ['http://example.com', '/'],
    ['?x', '/'],
  ])('the path of the target %s is %s', (target, path) => {
    expect(targetPath(target)).toBe(path)
  })
})
