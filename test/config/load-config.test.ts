import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/config-error'
import { loadConfig } from '../../src/config/load-config'
import { RuleError } from '../../src/rules/rule-issue'

const fixture = (name: string) => fileURLToPath(new URL(`fixtures/${name}`, import.meta.url))

function errorLines(name: string): string[] {
  const file = fixture(name)
  try {
    loadConfig(file)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    expect(error).toBeInstanceOf(RuleError)
    // Messages start with the path as given, so the expectations below use a placeholder.
    return (error as ConfigError).lines.map((line) => line.replace(file, 'FILE'))
  }
  throw new Error(`${name} was accepted`)
}

describe('loadConfig: valid files', () => {
  it('reads the contract example with every section', () => {
    const config = loadConfig(fixture('contract-example.yaml'))
    expect(config.version).toBe(1)
    expect(config.store).toEqual({ type: 'redis', url: 'redis://127.0.0.1:6379', onFailure: 'fallback' })
    expect(config.remote?.nacos).toEqual({
      serverAddr: '127.0.0.1:8848',
      namespace: 'public',
      group: 'DEFAULT_GROUP',
      dataId: 'diana-rules.yaml',
    })
    expect(config.response).toEqual({ status: 429, headers: 'draft' })
    expect(config.rules.map((rule) => rule.name)).toEqual(['global', 'account', 'device', 'seckill'])
    expect(config.rules[3]).toEqual({
      name: 'seckill',
      dimension: 'resource',
      match: { path: '/api/seckill/**', methods: ['POST'] },
      algorithm: 'leaky-bucket',
      limit: 1000,
      window: '1s',
      burst: 200,
    })
  })

  it('reads the Redis store options a file can express', () => {
    expect(loadConfig(fixture('redis-store.yaml')).store).toEqual({
      type: 'redis',
      cluster: {
        nodes: ['redis://10.0.0.1:7000', { host: '10.0.0.2', port: 7000 }],
        options: { scaleReads: 'slave' },
      },
      onFailure: 'closed',
      commandTimeoutMs: 80,
      probeBackoff: { minMs: 20, maxMs: 500 },
      denialCache: false,
      batch: { maxChecks: 32 },
      keyPrefix: 'shop',
    })
  })

  it('reads durations of the remote section as milliseconds', () => {
    const file = fixture('remote-durations.yaml')
    const config = loadConfig(file)
    expect(config.remote?.nacos?.timeout).toBe(1500)
    expect(config.remote?.nacos?.startupWait).toBe(500)
  })

  it('names the file when it cannot be read', () => {
    const file = fixture('no-such-file.yaml')
    expect(() => loadConfig(file)).toThrow(`${file}: cannot read the configuration file (ENOENT)`)
  })
})

// One fixture per failure, each with its exact message, line and column (envoy style).
describe('loadConfig: each kind of error, with its position', () => {
  it.each([
    ['misspelled-key.yaml', ['FILE:7:5: rules[0].windw: unknown field "windw"; did you mean "window"?']],
    ['misspelled-top-key.yaml', ['FILE:2:1: respons: unknown field "respons"; did you mean "response"?']],
    [
      'misspelled-nested-key.yaml',
      ['FILE:5:5: remote.nacos.dataID: unknown field "dataID"; did you mean "dataId"?'],
    ],
    [
      'bad-duration.yaml',
      [
        'FILE:3:84: rules[0].window: must be a duration such as 500ms, 1s, 1m, 1h, 1d, or a whole number of ms',
      ],
    ],
    [
      'burst-on-fixed-window.yaml',
      [
        'FILE:8:12: rules[0].burst: is not valid for fixed-window; only token-bucket and leaky-bucket take a burst',
      ],
    ],
    ['duplicate-rule-name.yaml', ['FILE:4:13: rules[1].name: duplicate rule name "account" (also rules[0])']],
    [
      'unknown-algorithm.yaml',
      [
        'FILE:5:16: rules[0].algorithm: unknown algorithm "token-buket"; did you mean "token-bucket"? (known: fixed-window, sliding-window, token-bucket, leaky-bucket, concurrency, adaptive-concurrency)',
      ],
    ],
    ['wrong-type.yaml', ['FILE:6:12: rules[0].limit: must be a whole number of requests, at least 1']],
    [
      'yaml-syntax.yaml',
      [
        'FILE:4:3: YAML syntax error: Flow map in block collection must be sufficiently indented and end with a }',
      ],
    ],
    ['duplicate-key.yaml', ['FILE:7:5: YAML syntax error: Map keys must be unique']],
    ['bad-store.yaml', ['FILE:2:63: store.onFailure: must be one of fallback, open, closed']],
    [
      'bad-redis-option.yaml',
      ['FILE:5:3: store.commandTimeout: unknown field "commandTimeout"; did you mean "commandTimeoutMs"?'],
    ],
    // The adapters' own `response` option takes only 429 and 503: so does the file.
    ['teapot-status.yaml', ['FILE:2:21: response.status: must be 429 or 503']],
    ['bad-version.yaml', ['FILE:1:10: version: must be 1 (the only format version so far)']],
    ['missing-rules.yaml', ['FILE:1:1: rules: is required']],
    ['empty.yaml', ['FILE:1:1: is empty; expected version and rules']],
    [
      'several-errors.yaml',
      [
        'FILE:2:21: response.status: must be 429 or 503',
        'FILE:2:35: response.headers: must be one of draft, legacy, both, none',
        'FILE:4:67: rules[0].limit: must be a whole number of requests, at least 1',
        'FILE:5:89: rules[1].mode: must be one of shape, police; did you mean "police"?',
      ],
    ],
  ])('%s', (name, expected) => {
    expect(errorLines(name)).toEqual(expected)
  })

  it('puts one line per problem in the error message', () => {
    const file = fixture('several-errors.yaml')
    expect(() => loadConfig(file)).toThrow(`${file}:2:21: response.status: must be 429 or 503\n${file}:2:35:`)
  })
})
