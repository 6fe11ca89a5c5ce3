import { shortened } from '../did-you-mean'
import { RuleError, type RuleIssue } from '../rules/rule-issue'

/** One problem in a configuration document, located in its text. */
export interface ConfigIssue extends RuleIssue {
  /** The file path, or a source name such as `nacos:DEFAULT_GROUP/diana-rules.yaml`. */
  source: string
  /** 1-based. */
  line: number
  /** 1-based. */
  column: number
}

/**
 * A rejected configuration document. Its message has one `FILE:LINE:COL: field: message` line
 * per problem, in document order, so editors and terminals can jump to each.
 */
export class ConfigError extends RuleError {
  override readonly issues: readonly ConfigIssue[]

  constructor(issues: readonly ConfigIssue[]) {
    const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column)
    super(sorted, (issue) => formatIssue(issue as ConfigIssue))
    this.name = 'ConfigError'
    this.issues = sorted
  }

  /** The message lines, one per problem. */
  get lines(): string[] {
    return this.issues.map(formatIssue)
  }
}

/** `FILE:LINE:COL: rules[1].window: message` (the field part is left out for syntax errors). */
export function formatIssue(issue: ConfigIssue): string {
  const field = fieldName(issue.path)
  return `${issue.source}:${issue.line}:${issue.column}: ${field ? `${field}: ` : ''}${issue.message}`
}

/** `['rules', 1, 'match', 'path']` → `rules[1].match.path`. */
export function fieldName(path: readonly (string | number)[]): string {
  return path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${shortened(part)}`))
    .join('')
    .replace(/^\./, '')
}
