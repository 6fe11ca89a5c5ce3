// Reads Diana's refusal of a request (429, or 503 from a concurrency rule) and says it in words:
// "per-account limit: 2 per 10 s — try again in 8 s". Everything comes from the answer Diana
// already sends: the problem+json body (`rule`, `limit`, `retryAfter`), the `RateLimit-Policy`
// header (`"account";q=2;w=10`: the window) and `Retry-After`.

import { RULE_LABELS } from './rule-labels.js'

/** Diana's problem type for a refused request; any other 429/503 is not a rule's refusal. */
const RATE_LIMITED = 'tag:diana-limiter,2025:rate-limited'

/**
 * `{ rule, limit, windowS, retryAfterS }` when `body` is Diana's refusal, else undefined.
 * `windowS` is undefined when the answer carries no policy for the rule.
 */
export function readRefusal(status, headers, body) {
  if (status !== 429 && status !== 503) return undefined
  if (body?.type !== RATE_LIMITED || typeof body.rule !== 'string') return undefined
  const policy = policyOf(headers.get('ratelimit-policy') ?? '', body.rule)
  return {
    rule: body.rule,
    limit: count(body.limit) ?? policy.q,
    windowS: policy.w,
    retryAfterS: count(body.retryAfter) ?? count(Number(headers.get('retry-after') ?? NaN)) ?? 1,
  }
}

/** The refusal in words, with `secondsLeft` of the wait still to go. */
export function refusalText(refusal, secondsLeft) {
  // Own properties only: a rule may well be named "constructor".
  const known = Object.hasOwn(RULE_LABELS, refusal.rule) ? RULE_LABELS[refusal.rule] : undefined
  const label = known?.label ?? `rule "${refusal.rule}"`
  const limit = refusal.limit ?? '?'
  const what = known?.inFlight
    ? `${limit} requests at once`
    : refusal.windowS !== undefined
      ? `${limit} per ${per(refusal.windowS)}`
      : `${limit}`
  const wait = secondsLeft > 0 ? `try again in ${secondsLeft} s` : 'you can try again now'
  return `${label}: ${what} — ${wait}`
}

/** `q` and `w` of the policy named `rule` in a RateLimit-Policy header (a list of them). */
function policyOf(header, rule) {
  for (const item of header.split(',')) {
    const [name, ...params] = item.trim().split(';')
    if (name !== `"${rule}"`) continue
    const found = {}
    for (const param of params) {
      const [key, value] = param.trim().split('=')
      if (key === 'q' || key === 'w') found[key] = count(Number(value))
    }
    return found
  }
  return {}
}

function count(value) {
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined
}

/** 10 → "10 s", 1 → "second", 60 → "minute", 300 → "5 min". */
function per(seconds) {
  if (seconds === 1) return 'second'
  if (seconds === 60) return 'minute'
  if (seconds === 3600) return 'hour'
  if (seconds >= 3600 && seconds % 3600 === 0) return `${seconds / 3600} h`
  if (seconds >= 60 && seconds % 60 === 0) return `${seconds / 60} min`
  return `${seconds} s`
}
