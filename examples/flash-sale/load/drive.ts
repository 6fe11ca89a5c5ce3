/**
 * `npm run demo:load`: a flash-sale stampede against the shop, at about 10× what its Diana
 * rules allow, then the figures that matter: what happened to each request, which rule turned
 * it away, orders vs stock, oversells and duplicate orders (both must be 0), and the latency of
 * the requests that got through. Alongside the purchases, people keep their page fresh (GET
 * /api/me, `sheddable` to the shop's adaptive `capacity` rule) and pay for the orders they got
 * (`critical`): the run reports how many of each priority the capacity rule shed (503) and the
 * p99 latency of those it admitted.
 *
 * It starts its own shop process (Redis mode if REDIS_URL is set) unless FLASH_SALE_URL points
 * at a running one. Knobs: LOAD_FACTOR (10), LOAD_SECONDS (5), LOAD_USERS (1000), SALE_STOCK
 * (200), LOAD_SHOPS (1: how many shop processes share the sale; Redis mode only). Device ids
 * are signed as the shop signs them (SHOP_SECRET, which a running shop must share).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { Agent, request } from 'node:http'
import { fileURLToPath } from 'node:url'
import { loadConfig, parseDuration, signDeviceId } from 'diana-limiter'
import type { Order, SaleAudit } from '../domain/order'
import { deviceSecretOf } from '../http/device-ids'
import { DEMO_SECRET, DIANA_CONFIG_PATH } from '../shop-config'

type Priority = 'critical' | 'normal' | 'sheddable'
const PRIORITIES: readonly Priority[] = ['critical', 'normal', 'sheddable']

const FACTOR = Number(process.env.LOAD_FACTOR ?? 10)
const SECONDS = Number(process.env.LOAD_SECONDS ?? 5)
const USERS = Number(process.env.LOAD_USERS ?? 1000)
const STOCK = Number(process.env.SALE_STOCK ?? 200)
const SHOPS = Number(process.env.LOAD_SHOPS ?? 1)
const REDIS_URL = process.env.REDIS_URL
const SERVER = fileURLToPath(new URL('../server.ts', import.meta.url))

interface Reply {
  status: number
  body: { outcome?: string; order?: Order; rule?: string }
  ms: number
  retryAfter?: string
  cookie?: string
}

const agent = new Agent({ keepAlive: true, maxSockets: 512 })

function send(base: string, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  return new Promise<Reply>((resolve, reject) => {
    const started = process.hrtime.bigint()
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const req = request(
      base + path,
      {
        method,
        agent,
        headers: { ...headers, ...(payload && { 'content-type': 'application/json' }) },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => {
          let parsed = {}
          try {
            parsed = text ? JSON.parse(text) : {}
          } catch {}
          resolve({
            status: res.statusCode ?? 0,
            body: parsed,
            ms: Number(process.hrtime.bigint() - started) / 1e6,
            retryAfter: res.headers['retry-after'],
            cookie: res.headers['set-cookie']?.[0]?.split(';')[0],
          })
        })
      },
    )
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')))
    req.end(payload)
  })
}

async function startShop(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      const match = /\[flash-sale\] (http:\/\/[^\s]+)/.exec(output)
      if (match) resolve(match[1] as string)
    })
    child.once('exit', (code) => reject(new Error(`shop exited with ${code}: ${output}`)))
  })
  return { child, url }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

const ms = (value: number) => (Number.isNaN(value) ? '-' : `${value.toFixed(1)} ms`)

async function main(): Promise<void> {
  const { rules } = loadConfig(process.env.DIANA_CONFIG ?? DIANA_CONFIG_PATH)
  const seckill = rules.find((rule) => rule.name === 'seckill')
  const perSecond = seckill ? (seckill.limit * 1000) / (parseDuration(seckill.window ?? 1000) ?? 1000) : 100
  const rate = Math.round(perSecond * FACTOR)

  // The shop processes of one run must share it; nobody else needs to know it.
  const secret = process.env.SHOP_SECRET ?? (process.env.FLASH_SALE_URL ? DEMO_SECRET : randomUUID())
  const deviceSecret = deviceSecretOf(secret)
  const shops: ChildProcess[] = []
  let urls: string[]
  if (process.env.FLASH_SALE_URL) {
    urls = [process.env.FLASH_SALE_URL]
  } else {
    const env = {
      PORT: '0',
      SALE_ID: `LOAD${process.pid}`,
      SALE_STOCK: String(STOCK),
      SALE_STARTS_IN: '0',
      PAYMENT_WINDOW: '15m',
      SHOP_SECRET: secret,
    }
    const started = await Promise.all(Array.from({ length: REDIS_URL ? SHOPS : 1 }, () => startShop(env)))
    shops.push(...started.map((shop) => shop.child))
    urls = started.map((shop) => shop.url)
  }
  const stop = () => {
    for (const child of shops) child.kill('SIGTERM')
  }
  process.once('SIGINT', () => {
    stop()
    process.exit(130)
  })

  try {
    // Population: most people on their own phone, some device farms (10 accounts on one
    // device), and one in ten accounts a script that keeps clicking with fresh keys.
    const users = Array.from({ length: USERS }, (_, i) => ({
      id: `u${i}`,
      // Ids the shop signed, as its page gets them from POST /api/device.
      device: signDeviceId(i % 100 < 15 ? `farm-${Math.floor(i / 10)}` : `phone-${i}`, deviceSecret),
      bot: i % 10 === 9,
      cookie: '',
      url: urls[i % urls.length] as string,
      clicks: 0,
    }))

    // Phase 1, reservation (not measured): signing everyone in, at the pace Diana allows.
    process.stdout.write(`reserving ${USERS} users ... `)
    let next = 0
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < users.length) {
          const user = users[next++]!
          for (;;) {
            const reply = await send(
              user.url,
              'POST',
              '/api/reserve',
              { 'x-device-id': user.device },
              { user: user.id },
            )
            if (reply.status === 200) {
              user.cookie = reply.cookie ?? ''
              break
            }
            await new Promise((resolve) => setTimeout(resolve, 1000 * Number(reply.retryAfter ?? 1)))
          }
        }
      }),
    )
    console.log('done')
    await new Promise((resolve) => setTimeout(resolve, 1000))

    // Phase 3, the stampede: open loop at `rate` purchase requests per second. Half of them
    // come from the scripts, half from people clicking (and retrying with the same key).
    const humans = users.filter((user) => !user.bot)
    const bots = users.filter((user) => user.bot)
    const replies: (Reply & { user: string })[] = []
    /** Every request of the stampede by priority, purchases included (they are `normal`). */
    const byPriority = new Map<Priority, Reply[]>(PRIORITIES.map((priority) => [priority, []]))
    const note = (priority: Priority) => (reply: Reply) => {
      byPriority.get(priority)?.push(reply)
      return reply
    }
    let errors = 0
    const inFlight: Promise<void>[] = []
    const total = rate * SECONDS
    const tickMs = 10
    const perTick = rate / (1000 / tickMs)
    const startedAt = performance.now()
    let sent = 0
    console.log(
      `stampede: ${total} purchase requests at ${rate}/s for ${SECONDS} s against ${urls.length} shop(s)`,
    )
    while (sent < total) {
      const due = Math.min(total, Math.floor(((performance.now() - startedAt) / tickMs + 1) * perTick))
      for (; sent < due; sent++) {
        const pool = sent % 2 === 0 ? bots : humans
        const user = pool[Math.floor(Math.random() * pool.length)]!
        user.clicks++
        const key = user.bot ? `bot-${user.id}-${user.clicks}` : `human-${user.id}`
        inFlight.push(
          send(user.url, 'POST', '/api/seckill/purchase', {
            cookie: user.cookie,
            'x-device-id': user.device,
            'idempotency-key': key,
          })
            .then(note('normal'))
            .then(
              async (reply) => {
                replies.push({ ...reply, user: user.id })
                const order = reply.status === 201 ? reply.body.order : undefined
                if (order === undefined) return
                const headers = { cookie: user.cookie, 'x-device-id': user.device }
                note('critical')(await send(user.url, 'POST', `/api/orders/${order.id}/pay`, headers))
              },
              () => {
                errors++
              },
            ),
        )
        // Someone keeps their page fresh meanwhile.
        const reader = humans[Math.floor(Math.random() * humans.length)]!
        inFlight.push(
          send(reader.url, 'GET', '/api/me', { cookie: reader.cookie, 'x-device-id': reader.device })
            .then(note('sheddable'))
            .then(
              () => {},
              () => {
                errors++
              },
            ),
        )
      }
      await new Promise((resolve) => setTimeout(resolve, tickMs))
    }
    const offeredSeconds = (performance.now() - startedAt) / 1000
    await Promise.all(inFlight)

    const audit = (await send(urls[0] as string, 'GET', '/api/audit', {})).body as unknown as SaleAudit

    // What the buyers saw.
    const outcomes = new Map<string, number>()
    const deniedBy = new Map<string, number>()
    const passed: number[] = []
    const denied: number[] = []
    const ordersByUser = new Map<string, Set<string>>()
    for (const reply of replies) {
      const label =
        reply.status === 429
          ? '429 rate-limited'
          : reply.status === 503 && reply.body.rule !== undefined
            ? '503 shed'
            : `${reply.status} ${reply.body.outcome ?? (reply.status >= 500 ? 'error' : 'other')}`
      outcomes.set(label, (outcomes.get(label) ?? 0) + 1)
      if (reply.body.rule !== undefined && (reply.status === 429 || reply.status === 503)) {
        deniedBy.set(reply.body.rule ?? '?', (deniedBy.get(reply.body.rule ?? '?') ?? 0) + 1)
        denied.push(reply.ms)
      } else {
        passed.push(reply.ms)
      }
      if ((reply.status === 201 || reply.status === 200) && reply.body.order) {
        const set = ordersByUser.get(reply.user) ?? new Set()
        set.add(reply.body.order.id)
        ordersByUser.set(reply.user, set)
      }
    }
    if (errors > 0) outcomes.set('network error', errors)
    passed.sort((a, b) => a - b)
    denied.sort((a, b) => a - b)
    const created = outcomes.get('201 created') ?? 0
    const duplicates = [...ordersByUser.values()].filter((ids) => ids.size > 1).length
    const oversells = Math.max(0, created - audit.stockTotal, audit.oversold)
    const ruleText = rules
      .map((rule) =>
        rule.algorithm === 'adaptive-concurrency'
          ? `${rule.name} ${rule.minLimit ?? 1}-${rule.limit} in flight`
          : `${rule.name} ${rule.limit}/${rule.window}${rule.burst !== undefined ? ` (burst ${rule.burst})` : ''}`,
      )
      .join(' · ')

    const lines = [
      '',
      `Flash-sale load run: ${REDIS_URL ? `Redis mode, ${urls.length} shop process(es)` : 'memory mode, 1 shop process'}`,
      `  rules       ${ruleText}`,
      `  offered     ${sent} purchase requests in ${offeredSeconds.toFixed(1)} s = ${Math.round(sent / offeredSeconds)}/s` +
        ` (${(sent / offeredSeconds / perSecond).toFixed(1)}x the seckill rule's ${perSecond}/s)`,
      `  population  ${USERS} users (${bots.length} scripts), ${new Set(users.map((user) => user.device)).size} devices`,
      '  outcomes',
      ...[...outcomes.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([label, count]) => `    ${label.padEnd(22)} ${String(count).padStart(6)}`),
      '  denied by rule',
      ...[...deniedBy.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([rule, count]) => `    ${rule.padEnd(22)} ${String(count).padStart(6)}`),
      `  orders      ${audit.orders.pending + audit.orders.paid} created for ${audit.stockTotal} in stock` +
        ` (${created} answered 201; ${audit.stockLeft} left)`,
      `  oversells   ${oversells}`,
      `  duplicates  ${Math.max(duplicates, audit.usersWithSeveralLiveOrders)} users with more than one order`,
      `  latency     got through (n=${passed.length}): p50 ${ms(percentile(passed, 50))}, p99 ${ms(percentile(passed, 99))}`,
      `              turned away (n=${denied.length}): p50 ${ms(percentile(denied, 50))}, p99 ${ms(percentile(denied, 99))}`,
      `  overload    the adaptive capacity rule, by priority (purchases are normal)`,
      ...PRIORITIES.map((priority) => {
        const all = byPriority.get(priority) ?? []
        const shed = all.filter((reply) => reply.status === 503 && reply.body.rule === 'capacity').length
        const admitted = all
          .filter((reply) => reply.status !== 503 && reply.status !== 429)
          .map((reply) => reply.ms)
          .sort((a, b) => a - b)
        const share = all.length === 0 ? 0 : (100 * shed) / all.length
        return `    ${priority.padEnd(10)} ${String(all.length).padStart(6)} sent, ${String(shed).padStart(6)} shed (${share.toFixed(0)} %), admitted p99 ${ms(percentile(admitted, 99))}`
      }),
    ]
    console.log(lines.join('\n'))
    if (oversells > 0 || duplicates > 0 || audit.usersWithSeveralLiveOrders > 0) process.exitCode = 1
  } finally {
    stop()
    agent.destroy()
  }
}

await main()
