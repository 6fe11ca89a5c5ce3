import { dimensionNames } from '../registry'
import { array, describe, knownName, mapOf, object, optional, string } from '../schema/schema'

/**
 * The `serve:` section of `diana.yaml`, read only by `diana serve` (the library ignores it):
 * how a gateway's requests become Diana subjects. Declared because the file schema is strict:
 * a section nobody declared would be rejected as an unknown field.
 */

/** Most descriptor keys a file maps; a gateway sends a handful per request. */
export const MAX_SERVE_DESCRIPTORS = 64
/** Most domains a file lists. */
export const MAX_SERVE_DOMAINS = 64

/**
 * Subject fields the built-in dimensions and the limiter read. `global` is a dimension but no
 * field: nothing of a request feeds it.
 */
const SUBJECT_FIELDS = ['account', 'device', 'resource', 'method', 'ip', 'priority']

/**
 * The fields a descriptor may fill: the built-in ones and every registered dimension's name,
 * listed when a file is read, so a dimension registered before (`diana validate --require`) is
 * known.
 */
export function subjectFieldNames(): string[] {
  const names = new Set(SUBJECT_FIELDS)
  for (const name of dimensionNames()) if (name !== 'global') names.add(name)
  return [...names]
}

const descriptorKey = string('descriptor keys are 1 to 128 characters of A-Za-z0-9_.:-', {
  pattern: '^[A-Za-z0-9_.:-]{1,128}$',
})
const subjectField = knownName(subjectFieldNames, 'subject field', {
  type: 'string',
  pattern: '^[A-Za-z_][A-Za-z0-9_-]{0,63}$',
})

export const serveSchema = describe(
  object(
    {
      descriptors: describe(
        optional(
          mapOf(descriptorKey, subjectField, 'must be a mapping such as { remote_address: ip }', {
            maxEntries: MAX_SERVE_DESCRIPTORS,
            tooMany: `must map at most ${MAX_SERVE_DESCRIPTORS} descriptor keys`,
          }),
        ),
        'For the gRPC API (Envoy rate-limit service): the subject field each descriptor entry fills, by the entry key, e.g. { remote_address: ip, path: resource, user: account }. Fields: account, device, resource, method, ip, priority and registered dimensions.',
      ),
      domains: describe(
        optional(
          array(
            string('must be a domain name of 1 to 128 characters', { minLength: 1, maxLength: 128 }),
            'must be a list of domain names',
            { maxItems: MAX_SERVE_DOMAINS, tooMany: `must list at most ${MAX_SERVE_DOMAINS} domains` },
          ),
        ),
        'For the gRPC API: the Envoy rate-limit domains this service answers; others are refused. Default: every domain.',
      ),
    },
    'must be a mapping such as { descriptors: { remote_address: ip } }',
  ),
  'How diana serve turns gateway requests into subjects (see docs/gateway.md); the library ignores it.',
)

/** The `serve` section as read. */
export interface ServeConfig {
  descriptors?: Record<string, string>
  domains?: string[]
}
