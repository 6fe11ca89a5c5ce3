import { createHash, randomBytes } from 'node:crypto'
import { open, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { stringify } from 'yaml'
import type { DianaConfig } from '../config/config-schema'
import type { ConfigEvent } from '../config/live-config'
import { mergeRules } from '../config/merge-rules'
import { parseConfigAsync } from '../config/parse-config'
import { errorReason } from '../error-reason'
import type { Limiter } from '../limiter'
import { type DiffLine, lineDiff } from './line-diff'

/** Where the rules in force come from, and so where an edit goes. */
export type EditTarget =
  | { kind: 'file'; path: string }
  | { kind: 'memory' }
  | { kind: 'refused'; reason: string }

/** How long an apply waits for the watched file's reload to put the rules in force. */
const RELOAD_WAIT_MS = 5000

export interface EditableRules {
  target: EditTarget
  /** The text to edit: the whole file, or the rules in force as YAML. */
  text: string
  /** SHA-256 of `text`: an apply against another base is refused (someone changed it meanwhile). */
  base: string
}

export type EditOutcome =
  | { ok: true; diff: DiffLine[]; changed: boolean; message: string; version?: number }
  | { ok: false; status: 400 | 409 | 422 | 500 | 504; message: string; diff?: DiffLine[] }

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

/** Where an edit would go, from the limiter's configuration as it is now. */
export function editTarget(limiter: Limiter): EditTarget {
  const config = limiter.inspect().config
  if (config === undefined) return { kind: 'memory' }
  if (config.remotes.length > 0) {
    return {
      kind: 'refused',
      reason: `the rules come from ${config.remotes.join(', ')}${config.file ? ` over ${config.file}` : ''}: publish the change there (for Nacos, its console or open API); the dashboard cannot publish to a remote source`,
    }
  }
  if (config.file !== undefined && config.watched) return { kind: 'file', path: config.file }
  return {
    kind: 'refused',
    reason: `${config.file ?? 'the configuration file'} is not watched (watch: false), so an edit would not take effect: edit the file and restart, or create the limiter with watch on`,
  }
}

/** The text the page edits, with its base hash. */
export async function readEditable(limiter: Limiter, maxBytes: number): Promise<EditableRules> {
  const target = editTarget(limiter)
  let text: string
  if (target.kind === 'file') {
    const buffer = await readFile(target.path)
    text = buffer.subarray(0, maxBytes).toString('utf8')
  } else {
    // As a configuration file, so that one schema (and `diana validate`) reads both.
    text = stringify({ version: 1, rules: limiter.rules })
  }
  return { target, text, base: sha256(text) }
}

/**
 * Validates `text` as the hot reload would (the configuration schema, in a worker), and with
 * `apply`, puts it where the rules come from: the watched file written atomically (its reload
 * then swaps the rules), or `limiter.setRules` for rules given in code. Either way counters
 * of unchanged rules carry on (see ARCHITECTURE.md, "Fingerprints").
 */
export async function editRules(
  limiter: Limiter,
  text: string,
  base: string,
  apply: boolean,
  maxBytes: number,
): Promise<EditOutcome> {
  const current = await readEditable(limiter, maxBytes)
  const { target } = current
  if (target.kind === 'refused') return { ok: false, status: 409, message: target.reason }
  const diff = lineDiff(current.text, text)
  if (base !== current.base) {
    return {
      ok: false,
      status: 409,
      message: 'the rules changed since you loaded them: reload them and edit again',
      diff,
    }
  }
  const name = target.kind === 'file' ? target.path : 'dashboard edit'
  const parsed = await parseConfigAsync(text, name, { maxBytes })
  if (!parsed.ok) return { ok: false, status: 422, message: parsed.error.message, diff }
  const config = parsed.value
  if (target.kind === 'memory') {
    const extra = Object.keys(config).filter(
      (key) =>
        key !== 'rules' &&
        key !== 'version' &&
        (config as unknown as Record<string, unknown>)[key] !== undefined,
    )
    if (extra.length > 0) {
      return {
        ok: false,
        status: 422,
        message: `only rules can be changed here (the limiter's rules were given in code); remove ${extra.join(', ')}`,
        diff,
      }
    }
  }
  const changed = text !== current.text
  if (!apply) return { ok: true, diff, changed, message: changed ? 'valid; not applied yet' : 'no change' }
  if (!changed) return { ok: true, diff, changed, message: 'no change' }
  if (target.kind === 'memory') {
    try {
      limiter.setRules(config.rules)
    } catch (error) {
      return { ok: false, status: 422, message: errorReason(error, true), diff }
    }
    return { ok: true, diff, changed, message: 'in force', version: limiter.inspect().rulesVersion }
  }
  return writeAndWait(limiter, target.path, text, config, diff)
}

/** Writes the file atomically and waits for the hot reload to take (or reject) it. */
async function writeAndWait(
  limiter: Limiter,
  path: string,
  text: string,
  config: DianaConfig,
  diff: DiffLine[],
): Promise<EditOutcome> {
  const before = limiter.inspect().config
  // The hash the reload will give the new rules (LiveConfig hashes the merged rules so); when it
  // equals the one in force, the reload changes nothing and no event comes.
  const hash = sha256(JSON.stringify(mergeRules(config.rules, []))).slice(0, 16)
  const unchangedRules = before !== undefined && before.hash === hash
  let settle: ((outcome: EditOutcome) => void) | undefined
  const settled = new Promise<EditOutcome>((resolve) => {
    settle = resolve
  })
  const onConfig = (event: ConfigEvent) => {
    if (event.hash === hash)
      settle?.({ ok: true, diff, changed: true, message: 'in force', version: event.version })
  }
  const onError = (error: Error) =>
    settle?.({
      ok: false,
      status: 422,
      message: `written, but the reload refused it: ${error.message}`,
      diff,
    })
  limiter.on('config', onConfig)
  limiter.on('configError', onError)
  const timer = setTimeout(
    () =>
      settle?.({
        ok: false,
        status: 504,
        message: `written to ${path}; the reload did not report within ${RELOAD_WAIT_MS / 1000} s`,
        diff,
      }),
    RELOAD_WAIT_MS,
  )
  try {
    await writeAtomically(path, text)
    if (unchangedRules)
      return { ok: true, diff, changed: true, message: `written to ${path}; the rules in force are the same` }
    return await settled
  } catch (error) {
    return { ok: false, status: 500, message: `cannot write ${path}: ${errorReason(error, true)}`, diff }
  } finally {
    clearTimeout(timer)
    limiter.off('config', onConfig)
    limiter.off('configError', onError)
  }
}

/**
 * Writes a sibling temporary file, flushes it and renames it over `path`: a reader (the
 * watcher, a deploy tool) sees the old file or the new one, never half of it.
 */
async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  // The file keeps its permissions: a rename would otherwise give it the temporary's.
  const mode = (await stat(path)).mode & 0o777
  const handle = await open(temporary, 'wx', mode)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}
