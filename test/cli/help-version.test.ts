import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { dianaBin, root } from './diana-bin'

const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string }

describe('diana --help, --version and help <command>', () => {
  it.each([['--help'], ['-h'], ['help']])('%s lists the commands on stdout and exits 0', async (flag) => {
    const { code, stdout, stderr } = await dianaBin([flag])
    expect(code).toBe(0)
    expect(stderr).toBe('')
    expect(stdout).toMatch(/^usage: diana <command> \[options\]/)
    expect(stdout).toMatch(/^ {2}validate +check configuration files/m)
    expect(stdout).toMatch(/^ {2}bench +measure decisions per second/m)
  })

  it.each([['--version'], ['-v']])('%s prints the package version', async (flag) => {
    expect(await dianaBin([flag])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' })
  })

  it.each([[['help', 'validate']], [['validate', '--help']], [['validate', '-h']]])(
    '%j prints the options of validate, one line each',
    async (args) => {
      const { code, stdout } = await dianaBin(args)
      expect(code).toBe(0)
      expect(stdout).toMatch(/^usage: diana validate \[--require MODULE\]\.\.\. \[--max-bytes N\] FILE\.\.\./)
      expect(stdout).toMatch(/^ {2}--require MODULE, -r MODULE +load MODULE first/m)
      expect(stdout).toMatch(/^ {2}--max-bytes N +largest file taken/m)
    },
  )

  it('help bench prints the options of bench', async () => {
    const { code, stdout } = await dianaBin(['help', 'bench'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^ {2}--concurrency N +checks in flight/m)
  })

  it('an unknown command exits 2 with a did-you-mean hint and the usage on stderr', async () => {
    const { code, stdout, stderr } = await dianaBin(['valdate', 'diana.yaml'])
    expect(code).toBe(2)
    expect(stdout).toBe('')
    expect(stderr).toMatch(/^diana: unknown command "valdate"; did you mean "validate"\?\n/)
    expect(stderr).toContain('usage: diana <command> [options]')
    expect((await dianaBin(['help', 'benh'])).stderr).toMatch(
      /unknown command "benh"; did you mean "bench"\?/,
    )
    expect((await dianaBin(['--verison'])).stderr).toMatch(/did you mean "--version"\?/)
  })

  it('no command at all exits 2 with the usage', async () => {
    const { code, stderr } = await dianaBin([])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^usage: diana <command>/)
  })
})
