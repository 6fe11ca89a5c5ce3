import { hint, quoted } from '../did-you-mean'

/**
 * Declarative schemas for Diana's options: one definition reads and checks a value (rules in
 * code, `diana.yaml`, remote documents) and describes it as JSON Schema (`diana.schema.json`).
 *
 * Written here rather than taken from a schema library because every import of `diana-limiter`
 * validates rules: zod cost about as much to load as the rest of the library together, and the
 * handful of shapes Diana needs (strict objects with did-you-mean hints, unions with one message,
 * whole numbers, durations) fit in this file.
 */

export type SchemaPath = (string | number)[]

export interface SchemaIssue {
  /** Where, from the value given to {@link read}. */
  path: SchemaPath
  /** `is required`, `unknown field "x"; did you mean "y"?`, or the schema's own message. */
  message: string
  code: 'missing' | 'unknown_field' | 'invalid'
}

export type JsonSchema = { [keyword: string]: unknown }

/** Marks a read that failed; its issues say why. */
const INVALID: unique symbol = Symbol('invalid')
type Invalid = typeof INVALID

export interface Schema<Out> {
  /** Reads `value`, pushing an issue per problem; returns the value as the program sees it. */
  readonly check: (value: unknown, path: SchemaPath, issues: SchemaIssue[]) => Out | Invalid
  readonly json: () => JsonSchema
  /** Whether an object may leave this field out. */
  readonly optional: boolean
}

export type Output<S> = S extends Schema<infer Out> ? Out : never

/** Reads a whole value: its output, or every issue found. */
export function read<Out>(
  schema: Schema<Out>,
  value: unknown,
): { ok: true; value: Out } | { ok: false; issues: SchemaIssue[] } {
  const issues: SchemaIssue[] = []
  const out = schema.check(value, [], issues)
  return out === INVALID || issues.length > 0 ? { ok: false, issues } : { ok: true, value: out }
}

function schema<Out>(check: Schema<Out>['check'], json: () => JsonSchema, optional = false): Schema<Out> {
  return { check, json, optional }
}

function fail(issues: SchemaIssue[], path: SchemaPath, message: string): Invalid {
  issues.push({ path, message, code: 'invalid' })
  return INVALID
}

interface StringOptions {
  minLength?: number
  maxLength?: number
  /** A regular expression source, anchored by the caller (it is also the JSON Schema `pattern`). */
  pattern?: string
}

/** A string; `message` is the whole message of any failure (`must be ...`). */
export function string(message: string, options: StringOptions = {}): Schema<string> {
  const pattern = options.pattern === undefined ? undefined : new RegExp(options.pattern)
  return schema(
    (value, path, issues) => {
      if (typeof value !== 'string') return fail(issues, path, message)
      if (options.minLength !== undefined && value.length < options.minLength)
        return fail(issues, path, message)
      if (options.maxLength !== undefined && value.length > options.maxLength)
        return fail(issues, path, message)
      if (pattern && !pattern.test(value)) return fail(issues, path, message)
      return value
    },
    () => ({
      type: 'string',
      ...(options.minLength === undefined ? {} : { minLength: options.minLength }),
      ...(options.maxLength === undefined ? {} : { maxLength: options.maxLength }),
      ...(options.pattern === undefined ? {} : { pattern: options.pattern }),
    }),
  )
}

interface NumberOptions {
  /** Whole numbers only (safe integers). */
  integer?: boolean
  minimum?: number
  /** Greater than this. */
  exclusiveMinimum?: number
  maximum?: number
}

/** A string of at least one character: `must be ${what}` otherwise. */
export function nonEmptyString(what: string): Schema<string> {
  return string(`must be ${what}`, { minLength: 1 })
}

/** A finite number; `message` is the whole message of any failure. */
export function number(message: string, options: NumberOptions = {}): Schema<number> {
  return schema(
    (value, path, issues) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return fail(issues, path, message)
      if (options.integer && !Number.isSafeInteger(value)) return fail(issues, path, message)
      if (options.minimum !== undefined && value < options.minimum) return fail(issues, path, message)
      if (options.exclusiveMinimum !== undefined && value <= options.exclusiveMinimum) {
        return fail(issues, path, message)
      }
      if (options.maximum !== undefined && value > options.maximum) return fail(issues, path, message)
      return value
    },
    () => ({
      type: options.integer ? 'integer' : 'number',
      ...(options.minimum === undefined ? {} : { minimum: options.minimum }),
      ...(options.exclusiveMinimum === undefined ? {} : { exclusiveMinimum: options.exclusiveMinimum }),
      ...(options.maximum === undefined ? {} : { maximum: options.maximum }),
    }),
  )
}

/** A whole number from 1 up, the most common option shape. */
export function positiveInteger(message: string): Schema<number> {
  return number(message, { integer: true, exclusiveMinimum: 0 })
}

export function boolean(message: string): Schema<boolean> {
  return schema(
    (value, path, issues) => (typeof value === 'boolean' ? value : fail(issues, path, message)),
    () => ({ type: 'boolean' }),
  )
}

/** Exactly this value. */
export function literal<const T extends string | number | boolean>(value: T, message: string): Schema<T> {
  return schema(
    (input, path, issues) => (input === value ? value : fail(issues, path, message)),
    () => ({ type: typeof value, const: value }),
  )
}

/** One of these strings. */
export function oneOf<const T extends string>(values: readonly T[], message: string): Schema<T> {
  return schema(
    (input, path, issues) =>
      typeof input === 'string' && (values as readonly string[]).includes(input)
        ? (input as T)
        : fail(issues, path, message),
    () => ({ type: 'string', enum: [...values] }),
  )
}

/**
 * A list; every item is checked and reported, each at its index. A list longer than `maxItems`
 * is refused before any item is looked at (`tooMany`, else `message`): the work a hostile list
 * can cause is bounded by the schema, not by the document's size.
 */
export function array<Out>(
  item: Schema<Out>,
  message: string,
  options: { minItems?: number; maxItems?: number; tooMany?: string } = {},
): Schema<Out[]> {
  return schema(
    (value, path, issues) => {
      if (!Array.isArray(value)) return fail(issues, path, message)
      if (options.minItems !== undefined && value.length < options.minItems)
        return fail(issues, path, message)
      if (options.maxItems !== undefined && value.length > options.maxItems)
        return fail(issues, path, options.tooMany ?? message)
      const out: Out[] = []
      let valid = true
      for (let i = 0; i < value.length; i++) {
        const read = item.check(value[i], [...path, i], issues)
        if (read === INVALID) valid = false
        else out.push(read)
      }
      return valid ? out : INVALID
    },
    () => ({
      type: 'array',
      items: item.json(),
      ...(options.minItems === undefined ? {} : { minItems: options.minItems }),
      ...(options.maxItems === undefined ? {} : { maxItems: options.maxItems }),
    }),
  )
}

/**
 * The first option that reads the value. When none does: the issues of the one option of the
 * value's own kind (a list for a list, a string for a string), which say most precisely what is
 * wrong; else one issue with `message`.
 */
export function union<const Options extends readonly Schema<unknown>[]>(
  options: Options,
  message: string,
): Schema<Output<Options[number]>> {
  const kinds = options.map((option) => jsonKind(option.json()))
  return schema(
    (value, path, issues) => {
      const kind = kindOf(value)
      const sameKind: SchemaIssue[][] = []
      for (let i = 0; i < options.length; i++) {
        const own: SchemaIssue[] = []
        const out = (options[i] as Schema<unknown>).check(value, path, own)
        if (out !== INVALID && own.length === 0) return out as Output<Options[number]>
        if (kinds[i] === kind) sameKind.push(own)
      }
      if (sameKind.length === 1) {
        // A loop, not push(...spread): a list may hold more issues than a call takes arguments.
        for (const issue of sameKind[0] as SchemaIssue[]) issues.push(issue)
        return INVALID
      }
      return fail(issues, path, message)
    },
    () => ({ anyOf: options.map((option) => option.json()) }),
  )
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'array'
  if (value === null) return 'null'
  return typeof value
}

function jsonKind(json: JsonSchema): string | undefined {
  return json.type === 'integer' ? 'number' : (json.type as string | undefined)
}

/**
 * One of several objects told apart by the value of `key` (`{ type: memory }`, `{ type: redis }`):
 * the object named by that value reports its own issues; an unknown value gets `message`.
 */
export function discriminated<const Options extends Record<string, Schema<unknown>>>(
  key: string,
  options: Options,
  message: string,
): Schema<Output<Options[keyof Options]>> {
  return schema(
    (value, path, issues) => {
      const tag = isPlainObject(value) ? value[key] : undefined
      const option = typeof tag === 'string' && Object.hasOwn(options, tag) ? options[tag] : undefined
      if (!option) return fail(issues, path, message)
      return option.check(value, path, issues) as Output<Options[keyof Options]> | Invalid
    },
    () => ({ oneOf: Object.values(options).map((option) => option.json()) }),
  )
}

/** Anything: a value checked later by other means (rules, by `compileRules`). */
export function unknownValue(): Schema<unknown> {
  return schema(
    (value) => value,
    () => ({}),
  )
}

/**
 * A mapping of names chosen by the user (not a fixed shape) to values, each key and value
 * checked and reported at its key. A mapping with more than `maxEntries` keys is refused before
 * any is looked at, as {@link array} refuses a long list.
 */
export function mapOf<Out>(
  key: Schema<string>,
  value: Schema<Out>,
  message: string,
  options: { maxEntries: number; tooMany: string },
): Schema<Record<string, Out>> {
  return schema(
    (input, path, issues) => {
      if (!isPlainObject(input)) return fail(issues, path, message)
      const keys = Object.keys(input)
      if (keys.length > options.maxEntries) return fail(issues, path, options.tooMany)
      const out: Record<string, Out> = {}
      let valid = true
      for (const name of keys) {
        const at = [...path, name]
        if (key.check(name, at, issues) === INVALID) {
          valid = false
          continue
        }
        const read = value.check(input[name], at, issues)
        if (read === INVALID) valid = false
        else out[name] = read
      }
      return valid ? out : INVALID
    },
    () => ({
      type: 'object',
      propertyNames: key.json(),
      additionalProperties: value.json(),
      maxProperties: options.maxEntries,
    }),
  )
}

/**
 * One of the names `known()` lists when the value is read (registered dimensions, say, which a
 * static list would miss); another name is reported with the closest known one.
 */
export function knownName(known: () => readonly string[], what: string, json: JsonSchema): Schema<string> {
  return schema(
    (input, path, issues) => {
      if (typeof input !== 'string') return fail(issues, path, `must be ${what}`)
      const names = known()
      if (names.includes(input)) return input
      return fail(
        issues,
        path,
        `unknown ${what} ${quoted(input)}${hint(input, names)} (known: ${names.join(', ')})`,
      )
    },
    () => json,
  )
}

/** Any mapping, passed through unchecked (options handed on to another library). */
export function record(message: string): Schema<Record<string, unknown>> {
  return schema(
    (value, path, issues) => (isPlainObject(value) ? value : fail(issues, path, message)),
    () => ({ type: 'object', additionalProperties: {} }),
  )
}

type Shape = Record<string, Schema<unknown>>
type RequiredKeys<S extends Shape> = { [K in keyof S]: S[K]['optional'] extends true ? never : K }[keyof S]
type OptionalKeys<S extends Shape> = Exclude<keyof S, RequiredKeys<S>>
export type ObjectOutput<S extends Shape> = { [K in RequiredKeys<S>]: Output<S[K]> } & {
  [K in OptionalKeys<S>]?: Output<S[K]>
} extends infer O
  ? { [K in keyof O]: O[K] }
  : never

export interface ObjectSchema<S extends Shape> extends Schema<ObjectOutput<S>> {
  readonly shape: S
}

/**
 * A mapping with exactly these fields: a missing required one is `is required`, an unknown one
 * is reported with the closest known name, so a typo never passes as a silently ignored setting.
 */
export function object<S extends Shape>(
  shape: S,
  message: string,
  options: { otherFields?: 'reject' | 'keep' } = {},
): ObjectSchema<S> {
  const keys = Object.keys(shape)
  const keepOthers = options.otherFields === 'keep'
  return {
    shape,
    optional: false,
    check: (value, path, issues) => {
      if (!isPlainObject(value)) return fail(issues, path, message)
      const out: Record<string, unknown> = keepOthers ? { ...value } : {}
      let valid = true
      for (const key of Object.keys(value)) {
        if (!keepOthers && !Object.hasOwn(shape, key)) {
          issues.push({
            path: [...path, key],
            message: `unknown field ${quoted(key)}${hint(key, keys)}`,
            code: 'unknown_field',
          })
          valid = false
        }
      }
      for (const key of keys) {
        const field = shape[key] as Schema<unknown>
        const given = value[key]
        if (given === undefined) {
          if (!field.optional) {
            issues.push({ path: [...path, key], message: 'is required', code: 'missing' })
            valid = false
          }
          continue
        }
        const read = field.check(given, [...path, key], issues)
        if (read === INVALID) valid = false
        else out[key] = read
      }
      return valid ? (out as ObjectOutput<S>) : INVALID
    },
    json: () => {
      const properties: Record<string, JsonSchema> = {}
      for (const key of keys) properties[key] = (shape[key] as Schema<unknown>).json()
      const required = keys.filter((key) => !(shape[key] as Schema<unknown>).optional)
      return {
        type: 'object',
        properties,
        ...(required.length > 0 ? { required } : {}),
        additionalProperties: !keepOthers ? false : {},
      }
    },
  }
}

/** The same schema, which an object may leave out. */
export function optional<Out>(inner: Schema<Out>): Schema<Out> & { optional: true } {
  return { ...inner, optional: true }
}

/** Documents a schema for editors (`description` in the JSON Schema). */
export function describe<T extends Schema<unknown>>(inner: T, description: string): T {
  return { ...inner, json: () => ({ ...inner.json(), description }) }
}

/**
 * Names a schema's kind in a few words (`title` in the JSON Schema), where its structure would
 * say it badly: a duration is an integer or a patterned string, but reads as `duration`. Editors
 * show it; the option tables of the docs use it as the type.
 */
export function titled<T extends Schema<unknown>>(inner: T, title: string): T {
  return { ...inner, json: () => ({ title, ...inner.json() }) }
}

/** Further checks a read value, with `message` when `test` says no. */
export function refine<Out>(inner: Schema<Out>, test: (value: Out) => boolean, message: string): Schema<Out> {
  return {
    ...inner,
    check: (value, path, issues) => {
      const out = inner.check(value, path, issues)
      if (out === INVALID) return INVALID
      return test(out) ? out : fail(issues, path, message)
    },
  }
}

/** Reads with `inner`, then turns the value into what the program uses (e.g. '2s' into 2000). */
export function transform<In, Out>(inner: Schema<In>, change: (value: In) => Out): Schema<Out> {
  return {
    ...inner,
    check: (value, path, issues) => {
      const out = inner.check(value, path, issues)
      return out === INVALID ? INVALID : change(out)
    },
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
