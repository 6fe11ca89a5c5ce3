import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/parse-config'
import { registerDimension } from '../../src/registry'

/** The file's `serve` section as read, or the lines it is refused with. */
function serveOf(section: string): unknown {
  const parsed = parseConfig(`version: 1\nserve: ${section}\nrules: []\n`, 'diana.yaml')
  return parsed.ok ? parsed.value.serve : parsed.error.lines.join('\n')
}

registerDimension('serve-schema-tenant')

describe('the serve section of diana.yaml', () => {
  it('maps descriptor keys to subject fields, registered dimensions included', () => {
    expect(
      serveOf(
        '{ descriptors: { remote_address: ip, path: resource, x-user: account, t: serve-schema-tenant }, domains: [edge] }',
      ),
    ).toEqual({
      descriptors: { remote_address: 'ip', path: 'resource', 'x-user': 'account', t: 'serve-schema-tenant' },
      domains: ['edge'],
    })
    expect(serveOf('{}')).toEqual({})
  })

  it('refuses unknown fields, with the closest name and the position', () => {
    expect(serveOf('{ descriptors: { remote_address: adress } }')).toMatch(
      /^diana\.yaml:2:\d+: serve\.descriptors\.remote_address: unknown subject field "adress"/,
    )
    expect(serveOf('{ descriptors: { remote_address: global } }')).toMatch(/unknown subject field "global"/)
    expect(serveOf('{ domain: [a] }')).toMatch(/unknown field "domain"; did you mean "domains"\?/)
    expect(serveOf('{ descriptors: { "a b": ip } }')).toMatch(/descriptor keys are 1 to 128 characters/)
    expect(serveOf('{ descriptors: [ip] }')).toMatch(/must be a mapping such as/)
  })

  it('bounds its sizes', () => {
    const many = Array.from({ length: 65 }, (_, i) => `k${i}: ip`).join(', ')
    expect(serveOf(`{ descriptors: { ${many} } }`)).toMatch(/at most 64 descriptor keys/)
    const domains = Array.from({ length: 65 }, (_, i) => `d${i}`).join(', ')
    expect(serveOf(`{ domains: [${domains}] }`)).toMatch(/at most 64 domains/)
  })
})
