/**
 * The NestJS guards alone, without sockets: the same three Nest apps as http-overhead.ts's
 * NestJS servers (bare, Diana with four rules, @nestjs/throttler with one), in this process,
 * driven by light-my-request (Fastify's `inject`), taking turns of `--requests` requests in an
 * order that rotates every round. Server CPU per request (process.cpuUsage) per turn; the added
 * cost against the bare app of the same round. For where the HTTP benchmark's noise (a shared
 * machine, a load generator on the same cores) hides a few µs.
 *
 *   node --import tsx/esm scripts/bench/nestjs-guard.ts [--platform express|fastify] [--rounds 30] [--requests 2000]
 */
import { parseArgs } from 'node:util'
import type { HttpVariant } from '../../bench/http-contenders'
import { medianInterval, spread } from '../../bench/sampling'
import { FOUR_RULES } from './http-overhead'
import { type NestPlatform, nestApp } from './http-overhead-nestjs'

type Inject = (options: Record<string, unknown>) => Promise<{ statusCode: number }>

const { values } = parseArgs({
  options: {
    platform: { type: 'string', default: 'express' },
    rounds: { type: 'string', default: '30' },
    requests: { type: 'string', default: '2000' },
  },
})
const platform = `nestjs-${values.platform}` as NestPlatform
const rounds = Number(values.rounds)
const requests = Number(values.requests)
const variants: HttpVariant[] = ['none', 'diana', 'peer']
const deviceOf = (headers: Record<string, string | string[] | undefined>, ip: string | undefined) =>
  (headers['x-device-id'] as string | undefined) ?? ip ?? ''

const injects = new Map<HttpVariant, Inject>()
for (const variant of variants) {
  const server = await nestApp(platform, variant, FOUR_RULES, deviceOf, false)
  injects.set(variant, server as unknown as Inject)
}

let n = 0
async function turn(inject: Inject): Promise<number> {
  const before = process.cpuUsage()
  for (let i = 0; i < requests; i++) {
    n = (n + 1) % 1000
    const reply = await inject({
      method: 'GET',
      url: `/items/${n % 50}`,
      headers: { 'x-device-id': `device-${n}`, 'x-account': `account-${n % 200}` },
      remoteAddress: '127.0.0.1',
    })
    if (reply.statusCode !== 200) throw new Error(`status ${reply.statusCode}`)
  }
  const used = process.cpuUsage(before)
  return (used.user + used.system) / requests
}

for (const variant of variants) await turn(injects.get(variant) as Inject)
const samples = new Map<HttpVariant, number[]>(variants.map((v) => [v, []]))
for (let round = 0; round < rounds; round++) {
  const order = variants.map((_, i) => variants[(i + round) % variants.length] as HttpVariant)
  for (const variant of order) samples.get(variant)?.push(await turn(injects.get(variant) as Inject))
}
const r1 = (x: number) => Math.round(x * 10) / 10
const base = samples.get('none') as number[]
const added = (variant: HttpVariant) =>
  (samples.get(variant) as number[]).map((s, i) => s - (base[i] as number))
const paired = (samples.get('diana') as number[]).map(
  (s, i) => s - ((samples.get('peer') as number[])[i] as number),
)
const [low, high] = medianInterval(paired)
process.stdout.write(
  `${platform} in-process, ${rounds} rounds of ${requests}: bare ${r1(spread(base).median)} µs | Diana (4 rules) +${r1(spread(added('diana')).median)} | @nestjs/throttler (1 rule) +${r1(spread(added('peer')).median)} | Diana - throttler, paired: ${r1(spread(paired).median)} (95% CI ${r1(low)}..${r1(high)})\n`,
)
process.exit(0)
