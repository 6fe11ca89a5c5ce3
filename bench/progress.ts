/**
 * The live line on stderr while a benchmark runs: scenario, elapsed time, current rate. On a
 * terminal it rewrites itself in place; into a pipe or a file it prints one line per scenario,
 * so logs stay readable.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream
  readonly #live: boolean
  #lastPaint = 0
  #shown = false

  constructor(stream: NodeJS.WriteStream = process.stderr, enabled = true) {
    this.#stream = stream
    this.#live = enabled && stream.isTTY === true
    this.#enabled = enabled
  }

  readonly #enabled: boolean

  /** A scenario starts. */
  begin(label: string): void {
    if (!this.#enabled) return
    if (this.#live) this.#paint(`${label} ...`)
    else this.#stream.write(`running ${label}\n`)
  }

  /** Called often from the measuring loop; repaints at most ten times a second. */
  tick(label: string, elapsedMs: number, rate: number, unit: string): void {
    if (!this.#live) return
    const now = performance.now()
    if (now - this.#lastPaint < 100) return
    this.#lastPaint = now
    this.#paint(`${label}  ${(elapsedMs / 1000).toFixed(1)} s  ${formatRate(rate)} ${unit}`)
  }

  /** Clears the live line before the table is printed. */
  end(): void {
    if (this.#live && this.#shown) this.#stream.write('\r\x1b[K')
    this.#shown = false
  }

  #paint(text: string): void {
    this.#shown = true
    this.#stream.write(`\r\x1b[K${text.slice(0, (this.#stream.columns ?? 100) - 1)}`)
  }
}

export function formatRate(rate: number): string {
  if (!Number.isFinite(rate)) return '-'
  if (rate >= 1e6) return `${(rate / 1e6).toFixed(2)}M`
  if (rate >= 1e4) return `${(rate / 1e3).toFixed(1)}k`
  return rate.toFixed(0)
}
