import { describe, expect, it } from 'vitest'
import { diffText, lineDiff, MAX_DIFF_LINES } from '../../src/dashboard/line-diff'

describe('lineDiff', () => {
  it('shows the changed lines with two lines of context, and ... between far-apart changes', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].join('\n')
    const after = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'J'].join('\n')
    expect(diffText(lineDiff(before, after))).toBe(
      ['  a', '- b', '+ B', '  c', '  d', '  ...', '  h', '  i', '- j', '+ J'].join('\n'),
    )
  })

  it('finds the common lines between changes (longest common subsequence)', () => {
    expect(diffText(lineDiff('x\na\ny\nb\nz', 'x\nc\ny\nd\nz'))).toBe(
      ['  x', '- a', '+ c', '  y', '- b', '+ d', '  z'].join('\n'),
    )
  })

  it('bounds what a hostile edit gets back: at most MAX_DIFF_LINES lines, then how many were left out', () => {
    const before = 'x\n'.repeat(100)
    const after = 'y\n'.repeat(130_000)
    const diff = lineDiff(before, after)
    expect(diff.length).toBe(MAX_DIFF_LINES + 1)
    expect(diff.at(-1)?.text).toMatch(/^\.\.\. \d+ more lines$/)
    expect(diff.filter((line) => line.op === '-')).toHaveLength(100)
  })
})
