/**
 * Option names of other Node.js rate limiters, with what Diana does instead, so that someone
 * porting a setup gets pointed at the right place rather than a bare "unknown option". Names
 * Diana uses itself (`store`, `skip`, `logger`, `ipv6Subnet`, `skipFailedRequests`,
 * `skipSuccessfulRequests`, ...) are left out: they are options here too.
 */

type Peer = 'express-rate-limit' | 'rate-limiter-flexible' | '@fastify/rate-limit'

const DOCS = 'docs/coming-from.md'

/** GitHub's anchor for each section of the "Coming from ..." page. */
const ANCHORS: Readonly<Record<Peer, string>> = {
  'express-rate-limit': 'express-rate-limit',
  'rate-limiter-flexible': 'rate-limiter-flexible',
  '@fastify/rate-limit': 'fastifyrate-limit',
}

const RULE_WINDOW = "a rule sets window: '15m'"
const RULE_LIMIT = 'a rule sets limit: 100'
const KEY =
  "a rule's dimension says what is counted per (ip, device, account, ...); identify(req) names the account"
const HEADERS = "response: { headers: 'draft' | 'legacy' | 'both' | 'none' } sets the headers"
const ANSWER = 'onLimited(req, res, decision) answers denied requests'
const BLOCK = "a rule's blockFor: '1m' keeps a key denied after it went over"

const OPTIONS: ReadonlyArray<readonly [string, Peer, string]> = [
  ['windowMs', 'express-rate-limit', RULE_WINDOW],
  ['max', 'express-rate-limit', RULE_LIMIT],
  ['limit', 'express-rate-limit', RULE_LIMIT],
  ['keyGenerator', 'express-rate-limit', KEY],
  ['standardHeaders', 'express-rate-limit', HEADERS],
  ['legacyHeaders', 'express-rate-limit', HEADERS],
  ['message', 'express-rate-limit', ANSWER],
  ['statusCode', 'express-rate-limit', 'response: { status: 429 | 503 } sets the status'],
  ['handler', 'express-rate-limit', ANSWER],
  [
    'requestWasSuccessful',
    'express-rate-limit',
    'skipFailedRequests and skipSuccessfulRequests read the status',
  ],
  ['requestPropertyName', 'express-rate-limit', 'the decision is always req.rateLimit'],
  ['validate', 'express-rate-limit', 'proxyWarnings: false turns the proxy warnings off'],
  ['passOnStoreError', 'express-rate-limit', "store: { onFailure: 'open' } lets requests through"],
  ['identifier', 'express-rate-limit', "a rule's name is the policy name in the headers"],
  ['points', 'rate-limiter-flexible', RULE_LIMIT],
  ['duration', 'rate-limiter-flexible', RULE_WINDOW],
  ['blockDuration', 'rate-limiter-flexible', BLOCK],
  ['keyPrefix', 'rate-limiter-flexible', 'each rule has its own keys already'],
  ['storeClient', 'rate-limiter-flexible', "store: { type: 'redis', client } takes your client"],
  ['storeType', 'rate-limiter-flexible', "store: { type: 'memory' | 'redis' } picks the store"],
  ['execEvenly', 'rate-limiter-flexible', 'a leaky-bucket rule spreads requests evenly'],
  ['execEvenlyMinDelayMs', 'rate-limiter-flexible', 'a leaky-bucket rule spreads requests evenly'],
  ['inMemoryBlockOnConsumed', 'rate-limiter-flexible', 'denied keys are remembered in memory already'],
  ['inMemoryBlockDuration', 'rate-limiter-flexible', 'denied keys are remembered in memory already'],
  [
    'insuranceLimiter',
    'rate-limiter-flexible',
    "store: { onFailure: 'fallback' } decides locally while Redis is down",
  ],
  ['timeWindow', '@fastify/rate-limit', RULE_WINDOW],
  ['allowList', '@fastify/rate-limit', 'skip(req) exempts requests; overrides lift limits for some keys'],
  ['hook', '@fastify/rate-limit', 'the plugin checks in onRequest, after your own hooks'],
  ['ban', '@fastify/rate-limit', BLOCK],
  ['errorResponseBuilder', '@fastify/rate-limit', ANSWER],
  ['addHeaders', '@fastify/rate-limit', HEADERS],
  ['addHeadersOnExceeding', '@fastify/rate-limit', HEADERS],
  ['enableDraftSpec', '@fastify/rate-limit', HEADERS],
  ['skipOnError', '@fastify/rate-limit', "store: { onFailure: 'open' } lets requests through"],
  ['nameSpace', '@fastify/rate-limit', 'each rule has its own keys already'],
  ['continueExceeding', '@fastify/rate-limit', BLOCK],
  ['onExceeding', '@fastify/rate-limit', "the limiter's 'decision' event reports every decision"],
  ['onExceeded', '@fastify/rate-limit', ANSWER],
  ['groupId', '@fastify/rate-limit', 'rules shared by routes are one rule with match.path'],
]

const BY_NAME = new Map(OPTIONS.map(([name, peer, instead]) => [name, { peer, instead }]))

/**
 * `' (an express-rate-limit option: in Diana ..., see docs/coming-from.md#express-rate-limit)'`
 * for an option name another limiter uses, else ''.
 */
export function peerHint(name: string): string {
  const known = BY_NAME.get(name)
  if (known === undefined) return ''
  const { peer, instead } = known
  return ` (${/^[aeiou]/.test(peer) ? 'an' : 'a'} ${peer} option: in Diana ${instead}, see ${DOCS}#${ANCHORS[peer]})`
}
