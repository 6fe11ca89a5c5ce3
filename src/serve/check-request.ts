import type { Subject } from '../types'

/**
 * The body of `POST /check`, `{ "subject": {...}, "cost"?: n }`, read from untrusted JSON: a
 * subject is a flat mapping of field names to strings or finite numbers, as `Subject` is, and
 * bounded, so one request cannot make the limiter hash megabytes of keys.
 */

/** Most fields a subject may have; the built-in dimensions read five. */
export const MAX_SUBJECT_FIELDS = 32
/** Longest field value, in characters. */
export const MAX_FIELD_LENGTH = 1024
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/

export interface CheckRequest {
  subject: Subject
  /** Undefined: the limiter's default (1). Checked by the limiter, as `limiter.check` checks it. */
  cost: unknown
}

/** The request, or a message for a 400 answer. */
export function readCheckRequest(body: unknown): CheckRequest | string {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return 'the body must be a JSON object such as { "subject": { "ip": "192.0.2.1" }, "cost": 1 }'
  }
  for (const key of Object.keys(body)) {
    if (key !== 'subject' && key !== 'cost')
      return `unknown field "${key}"; the body has "subject" and "cost"`
  }
  const given = (body as { subject?: unknown }).subject
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    return '"subject" must be a JSON object of fields, such as { "ip": "192.0.2.1", "account": "a-1" }'
  }
  const names = Object.keys(given)
  if (names.length > MAX_SUBJECT_FIELDS) return `"subject" has more than ${MAX_SUBJECT_FIELDS} fields`
  const subject: Record<string, string | number> = {}
  for (const name of names) {
    if (!FIELD_NAME.test(name)) {
      return `subject field names are 1 to 64 characters of A-Za-z0-9_-, starting with a letter or _ (got ${JSON.stringify(name.slice(0, 80))})`
    }
    const value = (given as Record<string, unknown>)[name]
    if (typeof value === 'string') {
      if (value.length > MAX_FIELD_LENGTH)
        return `subject.${name} is longer than ${MAX_FIELD_LENGTH} characters`
      subject[name] = value
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      subject[name] = value
    } else if (value !== null) {
      // null reads as absent, as JSON writers spell an unset optional field.
      return `subject.${name} must be a string or a finite number (got ${value === undefined ? 'nothing' : Array.isArray(value) ? 'an array' : `a ${typeof value}`})`
    }
  }
  return { subject, cost: (body as { cost?: unknown }).cost }
}
