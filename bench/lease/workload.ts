import type { Rule } from '../../src/rules/rule'
import type { Subject } from '../../src/types'
import { hasFourRules, isLeased, type Variant } from './options'

/** Accounts (and devices) the 4-rule variants spread over, so none of them is the bottleneck. */
export const ACCOUNTS = 10_000
const RESOURCES = 100

/** What a worker needs to build its limiter for one sample of one variant. */
export interface WorkloadSpec {
  variant: Variant
  /** Unique per sample: rule names carry it, so each sample starts from empty keys in Redis. */
  tag: string
  limit: number
  windowMs: number
}

/** The name of the hot global rule, whose admissions are counted per window. */
export function globalRuleName(tag: string): string {
  return `global-${tag}`
}

/**
 * The variant's rules. All are fixed windows of the same length, aligned to the epoch: every
 * rule of a check then reports the same `resetMs`, so the binding rule's (the only one a
 * Decision carries) says which window of the global rule an admission fell in. The per-account,
 * device and resource limits equal the global one, far above what one of 10 000 accounts or 100
 * resources asks for, so only the global rule ever denies.
 */
export function workloadRules(spec: WorkloadSpec): Rule[] {
  const fixed = (name: string, dimension: string): Rule => ({
    name: `${name}-${spec.tag}`,
    dimension,
    algorithm: 'fixed-window',
    limit: spec.limit,
    window: spec.windowMs,
  })
  const global = fixed('global', 'global')
  // `lease` is a rule field of the second wave (CONTRACT.md); a build without it rejects the
  // rule, and the run reports the variant as unavailable.
  if (isLeased(spec.variant)) Object.assign(global, { lease: true })
  if (!hasFourRules(spec.variant)) return [global]
  return [global, fixed('account', 'account'), fixed('device', 'device'), fixed('resource', 'resource')]
}

/**
 * Subjects checked round robin by every variant: spread over 10 000 accounts and devices and
 * 100 resources (the 1-rule variants read none of them, and count one hot key); devices in
 * another order than accounts, so an account's device is not its twin by number.
 */
export function workloadSubjects(): Subject[] {
  return Array.from({ length: ACCOUNTS }, (_, i) => ({
    account: `acct-${i}`,
    device: `dev-${(i * 7919) % ACCOUNTS}`,
    resource: `/items/${i % RESOURCES}`,
  }))
}
