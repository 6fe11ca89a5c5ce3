import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/parse-config'
import { createLimiter } from '../../src/limiter'

/** The one line a file with this `store:` section is refused with, or undefined if accepted. */
function fileError(store: string): string | undefined {
  const parsed = parseConfig(`version: 1\nstore: ${store}\nrules: []\n`, 'diana.yaml')
  return parsed.ok ? undefined : parsed.error.lines.join('\n')
}

function codeError(store: Record<string, unknown>): string | undefined {
  try {
    createLimiter({ rules: [], store: store as never })
    return undefined
  } catch (error) {
    return (error as Error).message
  }
}

// The store options are read by one schema in code and in files: a value one refuses, the
// other refuses with the same words (and the file with its position).
describe('store options in code and in diana.yaml', () => {
  it.each([
    [
      '{ type: redis, keyPrefix: "a b" }',
      { type: 'redis', keyPrefix: 'a b' },
      'store.keyPrefix: must be 1-64 letters, digits, "_", ".", ":" or "-"',
      'store.keyPrefix must be 1-64 letters, digits, "_", ".", ":" or "-" (got "a b")',
    ],
    [
      '{ type: redis, onFailure: retry }',
      { type: 'redis', onFailure: 'retry' },
      'store.onFailure: must be one of fallback, open, closed',
      'store.onFailure must be one of fallback, open, closed (got "retry")',
    ],
    [
      '{ type: redis, heartbeatMs: 0 }',
      { type: 'redis', heartbeatMs: 0 },
      'store.heartbeatMs: must be a number of milliseconds above 0',
      'store.heartbeatMs must be a number of milliseconds above 0 (got 0)',
    ],
    [
      '{ type: redis, batch: { maxCheks: 8 } }',
      { type: 'redis', batch: { maxCheks: 8 } },
      'store.batch.maxCheks: unknown field "maxCheks"; did you mean "maxChecks"?',
      'store: unknown option "batch.maxCheks"; did you mean "maxChecks"?',
    ],
    [
      '{ type: memory, maxKeys: 0 }',
      { type: 'memory', maxKeys: 0 },
      'store.maxKeys: must be a whole number of keys, at least 1',
      'store.maxKeys must be a whole number of keys, at least 1 (got 0)',
    ],
    [
      '{ type: memory, maxkeys: 10 }',
      { type: 'memory', maxkeys: 10 },
      'store.maxkeys: unknown field "maxkeys"; did you mean "maxKeys"?',
      'store: unknown option "maxkeys"; did you mean "maxKeys"?',
    ],
  ])('%s', (yaml, code, inFile, inCode) => {
    expect(fileError(yaml)).toMatch(new RegExp(`^diana\\.yaml:2:\\d+: ${escaped(inFile)}$`))
    expect(codeError(code)).toBe(inCode)
  })

  it('takes every Redis option a file can hold, connectWaitMs included', () => {
    expect(
      fileError('{ type: redis, connectWaitMs: 250, fallbackMaxKeys: 10, probeBackoff: { minMs: 5 } }'),
    ).toBe(undefined)
  })
})

function escaped(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
