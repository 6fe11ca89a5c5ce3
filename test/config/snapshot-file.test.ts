import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseRemoteDocument } from '../../src/config/parse-config'
import { SnapshotFile } from '../../src/config/snapshot-file'
import { temporaryDirectory } from './config-helpers'

describe('SnapshotFile', () => {
  let remove = () => {}
  afterEach(() => remove())

  it('reads a tampered 4 MiB snapshot no further than one byte past the limit, which rejects it', () => {
    const scratch = temporaryDirectory()
    remove = scratch.remove
    const path = join(scratch.dir, '.diana-snapshot.rules.yaml')
    writeFileSync(path, `version: 1\nrules: []\n# ${'x'.repeat(4 * 1024 * 1024)}\n`)
    const text = new SnapshotFile(path, 1024).readSync()
    expect(text).toHaveLength(1025)
    const result = parseRemoteDocument(text as string, path, { maxBytes: 1024 })
    expect(result.ok ? [] : result.error.lines).toEqual([
      `${path}:1:1: is larger than 1024 bytes (the maxConfigBytes limit)`,
    ])
  })

  it('reads nothing when there is no snapshot', () => {
    const scratch = temporaryDirectory()
    remove = scratch.remove
    expect(new SnapshotFile(join(scratch.dir, 'none')).readSync()).toBeUndefined()
  })
})
