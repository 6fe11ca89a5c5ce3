import type { Node } from 'yaml'
import { requirePeer } from '../optional-peer'

type Yaml = typeof import('yaml')

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
 * Parses YAML while keeping each node's offset, so a validation issue found on the plain value
 * (a path such as `['rules', 1, 'window']`) can be reported at its line and column.
 */
export function parseYaml(text: string): ParsedYaml {
  // Loaded with the first configuration read: limiters given rules in code never load it.
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } = requirePeer<Yaml>(
    'yaml',
    'Reading diana.yaml',
  )
  const lineCounter = new LineCounter()
  // prettyErrors off: the message stays one line; the position is added by the caller's format.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset)
    return { line, column: col }
  }
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => ({ position: at(error.pos[0]), message: error.message })),
    }
  }
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown
  const locate = (path: readonly (string | number)[], anchor: Anchor): Position => {
    let node: Node | null = doc.contents
    let keyNode: Node | null = null
    // The deepest node on the path that exists: a missing field is reported at its parent.
    let found: Node | null = node
    let complete = true
    for (const part of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(part))
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
