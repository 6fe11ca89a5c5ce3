import type { Rule } from '../rules/rule'

/**
 * Precedence, per rule name: each remote layer, in order, replaces the rules it names in place
 * (keeping the position, and so the tie-breaking order, of the rule it replaces) and appends
 * the rules it adds, in its own order. Local rules the remote does not name stay in force.
 * A remote layer can switch a local rule off by overriding it with `shadow: true`.
 */
export function mergeRules(
  local: readonly Rule[],
  remotes: readonly (readonly Rule[] | undefined)[],
): Rule[] {
  const merged = [...local]
  const position = new Map(merged.map((rule, index) => [rule.name, index]))
  for (const layer of remotes) {
    for (const rule of layer ?? []) {
      const index = position.get(rule.name)
      if (index === undefined) {
        position.set(rule.name, merged.length)
        merged.push(rule)
      } else {
        merged[index] = rule
      }
    }
  }
  return merged
}
