// What a visitor reads for each of the shop's Diana rules (diana.yaml), keyed by rule name. The
// wording is the page's business, so it lives here rather than in the rules: Diana's refusal
// already names the rule and carries its limit, window and wait (problem+json body and
// RateLimit-Policy header), which is all the page needs besides a human name. A rule added to
// diana.yaml without a label is shown by its name.
//
// `inFlight`: the rule limits requests at once (concurrency), not requests per window.
export const RULE_LABELS = {
  capacity: { label: 'shop capacity', inFlight: true },
  global: { label: 'whole-shop limit' },
  account: { label: 'per-account limit' },
  device: { label: 'per-device limit' },
  'device-ids': { label: 'device ids per address' },
  seckill: { label: 'checkout rate' },
}
