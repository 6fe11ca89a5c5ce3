import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { configJsonSchemaText } from '../../src/config/json-schema'
import { validate } from '../../src/config/validate-command'

const root = fileURLToPath(new URL('../../', import.meta.url))
const fixture = (name: string) => `test/config/fixtures/${name}`

function collector() {
  let text = ''
  const write = (chunk: string) => {
    text += chunk
    return true
  }
  return { write, text: () => text }
}

async function run(...args: string[]) {
  const out = collector()
  const err = collector()
  const status = await validate(args, out, err)
  return { status, out: out.text(), err: err.text() }
}

describe('diana validate', () => {
  it('exits 0 with one summary line per rule', async () => {
    const result = await run(fixture('valid.yaml'))
    expect(result).toEqual({
      status: 0,
      out: [
        'global: token-bucket per global, 5000 per 1s, burst 10000',
        'account: sliding-window per account, 100 per 1m, fallback limit 50',
        'device: fixed-window per device, 20 per 10s',
        'seckill: leaky-bucket per resource, 1000 per 1s, burst 200, methods POST, path /api/seckill/**',
        '',
      ].join('\n'),
      err: '',
    })
  })

  it('exits 1 with FILE:LINE:COL: message lines', async () => {
    const result = await run(fixture('several-errors.yaml'))
    expect(result.status).toBe(1)
    expect(result.out.trimEnd().split('\n')).toEqual([
      'test/config/fixtures/several-errors.yaml:2:21: response.status: must be 429 or 503',
      'test/config/fixtures/several-errors.yaml:2:35: response.headers: must be one of draft, legacy, both, none',
      'test/config/fixtures/several-errors.yaml:4:67: rules[0].limit: must be a whole number of requests, at least 1',
      'test/config/fixtures/several-errors.yaml:5:89: rules[1].mode: must be one of shape, police; did you mean "police"?',
    ])
  })

  it('checks every file given and fails if any fails', async () => {
    const result = await run(fixture('valid.yaml'), fixture('no-such-file.yaml'))
    expect(result.status).toBe(1)
    expect(result.out).toContain('test/config/fixtures/valid.yaml: global: token-bucket per global')
    expect(result.out).toContain(
      'test/config/fixtures/no-such-file.yaml: cannot read the configuration file (ENOENT)',
    )
  })

  it('exits 2 with usage when no file is given', async () => {
    expect(await run()).toEqual({
      status: 2,
      out: '',
      err: 'usage: diana validate [--require MODULE]... [--max-bytes N] FILE...\n',
    })
  })

  it('runs end to end through the diana command dispatcher', async () => {
    const script =
      "import { main } from './src/cli/main.ts'; process.exitCode = await main(process.argv.slice(1))"
    const child = promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, 'validate', fixture('misspelled-key.yaml')],
      { cwd: root },
    )
    const failure = await child.then(
      () => undefined,
      (error: { code: number; stdout: string }) => error,
    )
    expect(failure?.code).toBe(1)
    expect(failure?.stdout).toBe(
      'test/config/fixtures/misspelled-key.yaml:7:5: rules[0].windw: unknown field "windw"; did you mean "window"?\n',
    )
  })
})

describe('diana.schema.json', () => {
  it('is the committed copy of the schema generated from the config schema (npm run schema)', () => {
    const committed = readFileSync(`${root}diana.schema.json`, 'utf8')
    expect(committed, 'diana.schema.json is out of date: run `npm run schema` and commit it').toBe(
      configJsonSchemaText(),
    )
  })
})
