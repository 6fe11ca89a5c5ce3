import type * as YAML from 'yaml'
import { requirePeer } from '../optional-peer'

/** Loaded with the first configuration read: limiters given rules in code never load it. */
function yaml(): typeof YAML {
  return requirePeer<typeof YAML>('yaml', 'Reading diana.yaml')
}

/** 1-based line and column. */
export interface Position {
  line: number
  column: number
}

/** Where an issue points: at a field's key (unknown fields) or at its value. */
export type Anchor = 'key' | 'value'

export type ParsedYaml =
  | { ok: true; value: unknown; locate(path: readonly (string | number)[], anchor: Anchor): Position }
  | { ok: false; errors: { position: Position; message: string }[] }

/**
 * Deepest nesting of flow collections (`[`, `{`) taken. The `yaml` parser's time grows much
 * faster than the text with depth (100 000 brackets, 200 KB, take seconds); a rules file needs
 * four or five levels.
 */
export const MAX_FLOW_DEPTH = 64

/**
 * Alias expansions `toJS` may do, weighted by the size of what they expand (the `yaml`
 * package's own measure). A billion-laughs document hits it after a few hundred nodes.
 */
export const MAX_ALIAS_COUNT = 100

/**
 * Parses YAML while keeping each node's offset, so a validation issue found on the plain value
 * (a path such as `['rules', 1, 'window']`) can be reported at its line and column. Never
 * throws: hostile input (alias bombs, deep nesting) comes back as errors with a position.
 */
export function parseYaml(text: string): ParsedYaml {
  return parseYamlWith(yaml(), text, MAX_FLOW_DEPTH, MAX_ALIAS_COUNT)
}

/**
 * {@link parseYaml} with the `yaml` module passed in. Self-contained (it uses nothing but its
 * parameters and language built-ins) because its source text is also what a worker thread runs
 * for reloads (see parse-worker.ts): one parser, the same guards and positions on both paths.
 */
export function parseYamlWith(
  Y: typeof YAML,
  text: string,
  maxFlowDepth: number,
  maxAliasCount: number,
): ParsedYaml {
  type Pair = { key: unknown; value: unknown }
  type MapNode = { items: Pair[] }
  type Node = YAML.Node
  // No `?.` or `??` in this function: the CJS build rewrites them into helpers defined outside
  // it, which the worker thread running this function's source text would not have.
  const startOf = (node: unknown): number => {
    const range = node !== null && typeof node === 'object' ? (node as { range?: number[] }).range : undefined
    return range !== undefined && range[0] !== undefined ? range[0] : 0
  }

  const lineCounter = new Y.LineCounter()
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  const fail = (offset: number, message: string): ParsedYaml => {
    // The line counter is filled by the parser; without a parse, count the lines here.
    if (lineCounter.lineStarts.length === 0) {
      lineCounter.addNewLine(0)
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1)
    }
    return { ok: false, errors: [{ position: at(offset), message }] }
  }

  // Offset of the bracket that opens level `maxFlowDepth + 1` of flow collections, or -1.
  // Brackets in quoted strings and comments count too: a scan that tells them apart is a YAML
  // lexer, and no configuration nests brackets 64 deep inside a string.
  let tooDeep = -1
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0x5b || code === 0x7b) {
      depth += 1
      if (depth > maxFlowDepth) {
        tooDeep = i
        break
      }
    } else if ((code === 0x5d || code === 0x7d) && depth > 0) {
      depth -= 1
    }
  }
  if (tooDeep >= 0) return fail(tooDeep, `nested more than ${maxFlowDepth} levels deep`)

  let doc: YAML.Document.Parsed
  try {
    // prettyErrors off: the message stays one line; the position is added by the caller's format.
    // uniqueKeys off: the parser compares every key of a mapping with every other one, so
    // repeated keys are found below, in one pass.
    doc = Y.parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false })
  } catch (error) {
    return fail(0, (error as Error).message)
  }
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => ({ position: at(error.pos[0]), message: error.message })),
    }
  }

  // Keys that repeat an earlier key of the same mapping. Iterative: flow nesting is bounded
  // above, but block nesting is not counted there.
  const repeated: number[] = []
  const pending: unknown[] = [doc.contents]
  while (pending.length > 0) {
    const node = pending.pop()
    if (Y.isMap(node)) {
      const seen = new Set<string>()
      for (const item of node.items) {
        if (Y.isScalar(item.key)) {
          const key = `${typeof item.key.value}:${String(item.key.value)}`
          if (seen.has(key)) repeated.push(startOf(item.key))
          seen.add(key)
        } else if (item.key !== null) {
          pending.push(item.key)
        }
        pending.push(item.value)
      }
    } else if (Y.isSeq(node)) {
      for (const item of node.items) pending.push(Y.isPair(item) ? item.value : item)
    }
  }
  if (repeated.length > 0) {
    return {
      ok: false,
      errors: repeated
        .sort((a, b) => a - b)
        .map((offset) => ({ position: at(offset), message: 'Map keys must be unique' })),
    }
  }

  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount }) as unknown
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      // Reported at the first alias (`*name`) in document order.
      let first = Number.POSITIVE_INFINITY
      const nodes: unknown[] = [doc.contents]
      while (nodes.length > 0) {
        const node = nodes.pop()
        if (Y.isAlias(node)) first = Math.min(first, startOf(node))
        else if (Y.isMap(node)) for (const item of node.items) nodes.push(item.key, item.value)
        else if (Y.isSeq(node)) for (const item of node.items) nodes.push(item)
        else if (Y.isPair(node)) nodes.push(node.key, node.value)
      }
      return fail(Number.isFinite(first) ? first : 0, 'too many alias expansions (an alias bomb?)')
    }
    return fail(0, (error as Error).message)
  }

  // Each mapping's keys, indexed on first use: a document with many problems is located in
  // linear time, not one scan of a mapping per problem.
  const indexes = new WeakMap<object, Map<string, Pair>>()
  const pairOf = (node: MapNode, part: string | number): Pair | undefined => {
    let index = indexes.get(node)
    if (index === undefined) {
      index = new Map()
      for (const item of node.items) {
        const key = Y.isScalar(item.key) ? String(item.key.value) : undefined
        if (key !== undefined && !index.has(key)) index.set(key, item)
      }
      indexes.set(node, index)
    }
    return index.get(String(part))
  }
  const locate = (path: readonly (string | number)[], anchor: Anchor): Position => {
    let node: Node | null = doc.contents
    let keyNode: Node | null = null
    // The deepest node on the path that exists: a missing field is reported at its parent.
    let found: Node | null = node
    let complete = true
    for (const part of path) {
      if (Y.isMap(node)) {
        const pair = pairOf(node as MapNode, part)
        if (!pair) {
          complete = false
          break
        }
        keyNode = pair.key as Node
        node = pair.value as Node | null
        found = node !== undefined && node !== null ? node : keyNode
      } else if (Y.isSeq(node) && typeof part === 'number' && node.items[part] !== undefined) {
        keyNode = null
        node = node.items[part] as Node
        found = node
      } else {
        complete = false
        break
      }
    }
    const target = complete && anchor === 'key' && keyNode ? keyNode : found
    return at(startOf(target))
  }
  return { ok: true, value, locate }
}
