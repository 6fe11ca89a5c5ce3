import type { LineCounter, Node } from 'yaml'
import { requirePeer } from '../optional-peer'

type Yaml = typeof import('yaml')

/** Loaded with the first configuration read: limiters given rules in code never load it. */
function yaml(): Yaml {
  return requirePeer<Yaml>('yaml', 'Reading diana.yaml')
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
const MAX_ALIAS_COUNT = 100

type Pair = { key: unknown; value: unknown }
type MapNode = { items: Pair[] }

/**
 * Parses YAML while keeping each node's offset, so a validation issue found on the plain value
 * (a path such as `['rules', 1, 'window']`) can be reported at its line and column. Never
 * throws: hostile input (alias bombs, deep nesting) comes back as errors with a position.
 */
export function parseYaml(text: string): ParsedYaml {
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = yaml()
  const lineCounter = new LineCounter()
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  const fail = (offset: number, message: string): ParsedYaml => {
    // The line counter is filled by the parser; without a parse, count the lines here.
    if (lineCounter.lineStarts.length === 0) countLines(text, lineCounter)
    return { ok: false, errors: [{ position: at(offset), message }] }
  }
  const tooDeep = flowDepthExceeded(text, MAX_FLOW_DEPTH)
  if (tooDeep >= 0) return fail(tooDeep, `nested more than ${MAX_FLOW_DEPTH} levels deep`)
  let doc: ReturnType<typeof parseDocument>
  try {
    // prettyErrors off: the message stays one line; the position is added by the caller's format.
    // uniqueKeys off: the parser compares every key of a mapping with every other one, so
    // repeated keys are found below, in one pass.
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false })
  } catch (error) {
    return fail(0, (error as Error).message)
  }
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => ({ position: at(error.pos[0]), message: error.message })),
    }
  }
  const repeated = repeatedKeys(doc.contents)
  if (repeated.length > 0) {
    return {
      ok: false,
      errors: repeated.map((offset) => ({ position: at(offset), message: 'Map keys must be unique' })),
    }
  }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown
  } catch (error) {
    if (error instanceof ReferenceError && /alias/i.test(error.message)) {
      return fail(firstAlias(doc.contents), 'too many alias expansions (an alias bomb?)')
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
        const key = isScalar(item.key) ? String(item.key.value) : undefined
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
      if (isMap(node)) {
        const pair = pairOf(node as MapNode, part)
        if (!pair) {
          complete = false
          break
        }
        keyNode = pair.key as Node
        node = pair.value as Node | null
        found = node ?? keyNode
      } else if (isSeq(node) && typeof part === 'number' && node.items[part] !== undefined) {
        keyNode = null
        node = node.items[part] as Node
        found = node
      } else {
        complete = false
        break
      }
    }
    const target = complete && anchor === 'key' && keyNode ? keyNode : found
    return at(target?.range?.[0] ?? 0)
  }
  return { ok: true, value, locate }
}

/**
 * Offset of the bracket that opens level `max + 1` of flow collections, or -1. Brackets in
 * quoted strings and comments count too: a scan that tells them apart is a YAML lexer, and no
 * configuration nests brackets 64 deep inside a string.
 */
function flowDepthExceeded(text: string, max: number): number {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0x5b || code === 0x7b) {
      depth += 1
      if (depth > max) return i
    } else if ((code === 0x5d || code === 0x7d) && depth > 0) {
      depth -= 1
    }
  }
  return -1
}

/** Offsets of keys that repeat an earlier key of the same mapping, in document order. */
function repeatedKeys(root: unknown): number[] {
  const { isMap, isPair, isScalar, isSeq } = yaml()
  const offsets: number[] = []
  // Iterative: nesting is bounded above, but block nesting is not counted there.
  const pending: unknown[] = [root]
  while (pending.length > 0) {
    const node = pending.pop()
    if (isMap(node)) {
      const seen = new Set<string>()
      for (const item of node.items) {
        if (isScalar(item.key)) {
          const key = `${typeof item.key.value}:${String(item.key.value)}`
          if (seen.has(key)) offsets.push(item.key.range?.[0] ?? 0)
          seen.add(key)
        } else if (item.key !== null) {
          pending.push(item.key)
        }
        pending.push(item.value)
      }
    } else if (isSeq(node)) {
      for (const item of node.items) pending.push(isPair(item) ? item.value : item)
    }
  }
  return offsets.sort((a, b) => a - b)
}

/** Offset of the first alias (`*name`) in document order, where an alias bomb is reported. */
function firstAlias(root: unknown): number {
  const { isAlias, isMap, isPair, isSeq } = yaml()
  let first = Number.POSITIVE_INFINITY
  const pending: unknown[] = [root]
  while (pending.length > 0) {
    const node = pending.pop()
    if (isAlias(node)) first = Math.min(first, node.range?.[0] ?? 0)
    else if (isMap(node)) for (const item of node.items) pending.push(item.key, item.value)
    else if (isSeq(node)) for (const item of node.items) pending.push(item)
    else if (isPair(node)) pending.push(node.key, node.value)
  }
  return Number.isFinite(first) ? first : 0
}

function countLines(text: string, lineCounter: LineCounter): void {
  lineCounter.addNewLine(0)
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1)
}
