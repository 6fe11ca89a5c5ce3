import { writeFile } from 'node:fs/promises'
import { describeEnvironment, formatEnvironment } from '../environment'
import { Progress } from '../progress'
import { type PrivateRedis, startRedis } from '../redis-server'
import { renderMarkdown, renderText } from '../report'
import type { LeaseOptions } from './options'
import { redisCalls } from './redis-calls'
import { describeLeaseRun, leaseNote, leaseTable, ratiosJson, variantJson } from './report'
import { runLease } from './run'

/**
 * `diana bench lease`: a fleet of worker processes on one Redis, one hot global rule exact and
 * leased, and 4 rules against 1; decisions/s, latency, Redis commands per decision and what
 * each window admitted, as a table, JSON lines or Markdown.
 */
export async function runLeaseBench(options: LeaseOptions): Promise<number> {
  const env = describeEnvironment(['ioredis'])
  let own: PrivateRedis | undefined
  if (options.redisUrl === undefined) own = await startRedis()
  const url = options.redisUrl ?? (own as PrivateRedis).url
  const where = own ? `a private redis-server (${url})` : url
  try {
    const calls = await redisCalls(url)
    try {
      const heading = describeLeaseRun(options, where)
      const info = options.json ? process.stderr : process.stdout
      info.write(`${heading}\n${formatEnvironment(env)}\n`)
      const results = await runLease(options, url, calls, new Progress(process.stderr))
      const table = leaseTable(results)
      const note = leaseNote(results, options)
      if (options.json) {
        for (const r of results) process.stdout.write(`${JSON.stringify(variantJson(r, options))}\n`)
        process.stdout.write(`${JSON.stringify(ratiosJson(results))}\n`)
      } else process.stdout.write(`\n${renderText(table)}\n${note}`)
      if (options.out) {
        const text =
          `# diana bench lease\n\n\`\`\`sh\ndiana bench ${options.argv.join(' ')}\n\`\`\`\n\n` +
          `${heading}\n\n${formatEnvironment(env)}\n\n${renderMarkdown(table)}\n${note}`
        await writeFile(options.out, text)
        process.stderr.write(`wrote ${options.out}\n`)
      }
    } finally {
      await calls.close()
    }
  } finally {
    await own?.stop()
  }
  return 0
}
