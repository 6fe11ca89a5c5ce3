import type { Subject } from './types'

/**
 * A dimension says what a quota is counted per: it reads one value out of the subject.
 * `undefined` (or an empty string) means the subject lacks it, and rules naming it do not apply.
 */
export interface Dimension {
  valueFrom(subject: Subject): string | undefined
}

/** Reads `subject[field]` as a string; numbers are accepted as ids. */
export function fieldDimension(field: string): Dimension {
  return SUBJECT_FIELDS.get(field) ?? { valueFrom: (subject) => fieldValue(subject[field], field) }
}

/**
 * The subject's own fields, each read by a function of its own: a read through one shared
 * function with the field name as a variable is a megamorphic keyed load, the costliest step
 * of a hot-key check after the clock.
 */
const SUBJECT_FIELDS: ReadonlyMap<string, Dimension> = new Map<string, Dimension>([
  ['account', { valueFrom: (subject) => fieldValue(subject.account, 'account') }],
  ['device', { valueFrom: (subject) => fieldValue(subject.device, 'device') }],
  ['resource', { valueFrom: (subject) => fieldValue(subject.resource, 'resource') }],
  ['method', { valueFrom: (subject) => fieldValue(subject.method, 'method') }],
  ['ip', { valueFrom: (subject) => fieldValue(subject.ip, 'ip') }],
])

function fieldValue(value: unknown, field: string): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value
  if (typeof value === 'number') return String(value)
  if (value === undefined || value === null) return undefined
  throw new TypeError(`subject.${field} must be a string, got ${typeof value}`)
}

/** Everyone shares one quota. */
export const globalDimension: Dimension = { valueFrom: () => '' }

export const builtInDimensions: ReadonlyArray<readonly [string, Dimension]> = [
  ['global', globalDimension],
  ['account', fieldDimension('account')],
  ['device', fieldDimension('device')],
  ['resource', fieldDimension('resource')],
  // The adapters set it to the client address, IPv4-mapped IPv6 as IPv4 and other IPv6 cut to
  // its `ipv6Subnet` prefix; read as given, so a caller of check() groups addresses likewise.
  ['ip', fieldDimension('ip')],
]
