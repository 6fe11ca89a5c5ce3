import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import { type Anchor, MAX_ALIAS_COUNT, MAX_FLOW_DEPTH, type Position, parseYamlWith } from './yaml-positions'

/** A document parsed in a worker thread; positions are looked up there, in one round trip. */
export type WorkerParsedYaml =
  | {
      ok: true
      value: unknown
      locate(requests: readonly [path: (string | number)[], anchor: Anchor][]): Promise<Position[]>
    }
  | { ok: false; errors: { position: Position; message: string }[] }

/** Longest a worker may take over one document before it is stopped and the document rejected. */
export const PARSE_TIMEOUT_MS = 5000

/**
 * The worker's program, plain JavaScript so that it runs unchanged from the ESM and CJS builds
 * and from the TypeScript sources under a test runner: no worker entry file to ship or find.
 * It runs {@link parseYamlWith}'s own source text, so the guards and positions are the ones the
 * synchronous path has. `__name`: build tools that keep function names (esbuild's keepNames,
 * used by tsx and vitest) wrap nested functions in calls to a helper the worker does not have.
 */
const PROGRAM = `'use strict'
const { parentPort, workerData } = require('node:worker_threads')
const __name = (f) => f
const parseYamlWith = ${parseYamlWith.toString()}
const Y = require(workerData.yaml)
parentPort.once('message', (text) => {
  const parsed = parseYamlWith(Y, text, workerData.maxFlowDepth, workerData.maxAliasCount)
  if (!parsed.ok) return parentPort.postMessage(parsed)
  try {
    parentPort.postMessage({ ok: true, value: parsed.value })
  } catch (error) {
    const message = 'cannot be passed on: ' + String(error && error.message)
    return parentPort.postMessage({ ok: false, errors: [{ position: { line: 1, column: 1 }, message }] })
  }
  parentPort.on('message', (requests) =>
    parentPort.postMessage(requests.map(([path, anchor]) => parsed.locate(path, anchor))),
  )
})
`

let yamlPath: string | undefined

/** Documents are parsed one at a time: a burst of pushes never runs several workers at once. */
let queue: Promise<unknown> = Promise.resolve()

/**
 * Parses `text` in a worker thread and hands the result to `use`; the worker ends when `use`
 * has settled. The event loop only copies the parsed value back, so a hostile document within
 * the size limit cannot stall it; the parser itself is bounded in time and memory.
 * @throws Error with a message for the user (`took longer than 5000 ms to parse`) when the
 *   worker is stopped or fails; `use` is then not called, or its `locate` rejects.
 */
export function parseYamlInWorker<T>(
  text: string,
  use: (parsed: WorkerParsedYaml) => T | Promise<T>,
  options: { maxBytes: number; timeoutMs?: number },
): Promise<T> {
  const run = queue.then(() => runWorker(text, use, options))
  queue = run.catch(() => undefined)
  return run
}

async function runWorker<T>(
  text: string,
  use: (parsed: WorkerParsedYaml) => T | Promise<T>,
  options: { maxBytes: number; timeoutMs?: number },
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? PARSE_TIMEOUT_MS
  // The parser's syntax tree takes up to 500 bytes per byte of text (128 MB for 256 KiB of
  // `[1,1,1,...]`); twice that, and no more, for the size limit in force.
  const heapMb = Math.max(64, Math.ceil((options.maxBytes * 1024) / 2 ** 20))
  yamlPath ??= createRequire(import.meta.url).resolve('yaml')
  const worker = new Worker(PROGRAM, {
    eval: true,
    workerData: { yaml: yamlPath, maxFlowDepth: MAX_FLOW_DEPTH, maxAliasCount: MAX_ALIAS_COUNT },
    resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    stdout: true,
    stderr: true,
  })
  // A reload in progress never keeps the host process alive.
  worker.unref()
  let failure: Error | undefined
  let waiting: { resolve(message: unknown): void; reject(error: Error): void } | undefined
  const fail = (error: Error) => {
    failure ??= error
    waiting?.reject(failure)
    waiting = undefined
    void worker.terminate()
  }
  const timer = setTimeout(() => fail(new Error(`took longer than ${timeoutMs} ms to parse`)), timeoutMs)
  timer.unref()
  worker.on('message', (message: unknown) => {
    const pending = waiting
    waiting = undefined
    pending?.resolve(message)
  })
  worker.on('error', (error: Error & { code?: string }) =>
    fail(
      new Error(
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `needs more than ${heapMb} MB to parse`
          : `cannot be parsed (${error.message})`,
      ),
    ),
  )
  worker.on('exit', (code) => fail(new Error(`cannot be parsed (the parser stopped with code ${code})`)))
  const ask = (message: unknown): Promise<unknown> => {
    if (failure) return Promise.reject(failure)
    return new Promise((resolve, reject) => {
      waiting = { resolve, reject }
      worker.postMessage(message)
    })
  }
  try {
    const parsed = (await ask(text)) as
      | { ok: true; value: unknown }
      | { ok: false; errors: { position: Position; message: string }[] }
    if (!parsed.ok) return await use(parsed)
    return await use({
      ok: true,
      value: parsed.value,
      locate: async (requests) => (requests.length === 0 ? [] : ((await ask(requests)) as Position[])),
    })
  } finally {
    clearTimeout(timer)
    failure ??= new Error('done')
    void worker.terminate()
  }
}
