/** One problem found in a rule set, located by its path in the input (e.g. `['rules', 2, 'limit']`). */
export interface RuleIssue {
  path: (string | number)[]
  message: string
}

/** Thrown for invalid rules or options: a TypeError that also carries every issue found. */
export class RuleError extends TypeError {
  readonly issues: readonly RuleIssue[]

  constructor(issues: readonly RuleIssue[], describe: (issue: RuleIssue) => string = describePath) {
    super(issues.map(describe).join('\n'))
    this.name = 'RuleError'
    this.issues = issues
  }
}

function describePath(issue: RuleIssue): string {
  const where = issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('')
  return `${where.replace(/^\./, '')}: ${issue.message}`
}
