import { describe, expect, it } from 'vitest'
import { dianaBin, root } from './diana-bin'

// A rules file using a registered dimension (tenant) and a registered algorithm (daily-quota).
const FILE = 'test/config/fixtures/registered-kinds.yaml'
const SUMMARY = 'tenant-daily: daily-quota per tenant+resource, 2 per 1d\n'

describe('diana validate --require MODULE', () => {
  it('fails without the module that registers the custom kinds', async () => {
    const { code, stdout } = await dianaBin(['validate', FILE])
    expect(code).toBe(1)
    expect(stdout).toContain(`${FILE}:3:38: rules[0].dimension: unknown dimension "tenant"`)
    expect(stdout).toContain(`${FILE}:3:69: rules[0].algorithm: unknown algorithm "daily-quota"`)
  })

  it('validates once an ES module registering them is loaded', async () => {
    const result = await dianaBin([
      'validate',
      '--require',
      './test/config/fixtures/registrations/daily-quota.mjs',
      FILE,
    ])
    expect(result).toEqual({ code: 0, stdout: SUMMARY, stderr: '' })
  })

  it('takes a CommonJS module too, by -r, with paths from the current directory', async () => {
    const result = await dianaBin(
      ['validate', '-r', 'registrations/daily-quota.cjs', 'registered-kinds.yaml'],
      `${root}test/config/fixtures`,
    )
    expect(result).toEqual({ code: 0, stdout: SUMMARY, stderr: '' })
  })

  it('loads every module given, in order', async () => {
    // One registers the dimension only: the algorithm is still unknown...
    const partial = await dianaBin([
      'validate',
      '--require=test/config/fixtures/registrations/only-tenant.mjs',
      FILE,
    ])
    expect(partial.code).toBe(1)
    expect(partial.stdout).not.toContain('unknown dimension')
    expect(partial.stdout).toContain('unknown algorithm "daily-quota"')
  })

  it('exits 1 naming a module that fails to load, and validates nothing', async () => {
    const broken = await dianaBin([
      'validate',
      '--require',
      'test/config/fixtures/registrations/broken.mjs',
      FILE,
    ])
    expect(broken).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'diana validate: cannot load --require "test/config/fixtures/registrations/broken.mjs": the plugin module failed on purpose\n',
    })
    const missing = await dianaBin(['validate', '--require', 'no-such-diana-plugin', FILE])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/^diana validate: cannot load --require "no-such-diana-plugin": /)
  })

  it('exits 2 with the usage for --require without a module, or a misspelled option', async () => {
    const bare = await dianaBin(['validate', FILE, '--require'])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toMatch(/--require needs a module name or path/)
    const typo = await dianaBin(['validate', '--requre', 'x.mjs', FILE])
    expect(typo.code).toBe(2)
    expect(typo.stderr).toMatch(/unknown option "--requre"; did you mean "--require"\?/)
  })
})
