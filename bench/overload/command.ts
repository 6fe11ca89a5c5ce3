import { writeFile } from 'node:fs/promises'
import { describeEnvironment, formatEnvironment } from '../environment'
import { Progress } from '../progress'
import { renderMarkdown, renderText } from '../report'
import { overloadSvg } from './chart'
import type { OverloadOptions } from './options'
import { baselineLine, overloadTable, stepJson, targetsNote } from './report'
import { type Baseline, runOverload } from './run'

/**
 * `diana bench overload`: a service with a fixed capacity, bare and behind three limiters,
 * under closed-loop load stepping past its capacity; goodput, p99 of admitted requests and
 * shed rate per step, as a table, JSON lines, Markdown and an SVG chart.
 */
export async function runOverloadBench(options: OverloadOptions): Promise<number> {
  const env = describeEnvironment([])
  const heading = describeRun(options)
  const info = options.json ? process.stderr : process.stdout
  info.write(`${heading}\n${formatEnvironment(env)}\n`)
  let measured: Baseline | undefined
  const { baseline, results } = await runOverload(
    options,
    new Progress(process.stderr),
    (b) => {
      measured = b
      info.write(baselineLine(b))
    },
    (result) => {
      if (options.json && measured) process.stdout.write(`${JSON.stringify(stepJson(result, measured))}\n`)
    },
  )
  const table = overloadTable(results, baseline)
  const note = targetsNote(results, baseline)
  if (options.markdown) process.stdout.write(`\n${renderMarkdown(table)}\n${note}`)
  else if (!options.json) process.stdout.write(`\n${renderText(table)}\n${note}`)
  if (options.out) {
    const text =
      `# diana bench overload\n\n\`\`\`sh\ndiana bench ${options.argv.join(' ')}\n\`\`\`\n\n` +
      `${heading}\n\n${formatEnvironment(env)}\n\n${baselineLine(baseline)}\n${renderMarkdown(table)}\n${note}`
    await writeFile(options.out, text)
    process.stderr.write(`wrote ${options.out}\n`)
  }
  if (options.svg) {
    const title = `diana bench overload: ${options.slots} slots × ${options.serviceMs} ms`
    await writeFile(options.svg, overloadSvg(title, results, baseline))
    process.stderr.write(`wrote ${options.svg}\n`)
  }
  return 0
}

function describeRun(options: OverloadOptions): string {
  const capacity = (options.slots * 1000) / options.serviceMs
  const adaptive = options.variants.includes('adaptive') ? '; adaptive = the adaptive-concurrency rule' : ''
  return (
    `diana bench (overload): a service of ${options.slots} slots × ${options.serviceMs} ms ±10 % (capacity ${Math.round(capacity)}/s), ` +
    `closed-loop clients thinking ${options.serviceMs} ms; steps ${options.steps.map((s) => `${s}×`).join(' ')}, ` +
    `${options.durationS} s measured per step after it settles${adaptive}`
  )
}
