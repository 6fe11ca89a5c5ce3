import { createHash, randomBytes } from 'node:crypto'
import { open, readFile, realpath, rename, rm, stat } from 'node:fs/promises'
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
  | {
      ok: true
      diff: DiffLine[]
      changed: boolean
      message: string
      version?: number
      /** What the edit switches off (rules removed, made shadow-only): shown and logged. */
      warnings?: string[]
    }
  | {
      ok: false
      status: 400 | 409 | 422 | 500 | 504
      message: string
      diff?: DiffLine[]
      /** The apply got as far as writing the file or calling setRules: logged like a success. */
      attempted?: true
    }

/**
 * Applies in progress per limiter: one at a time, so that two editors (two tabs, two
 * dashboards on one limiter) who loaded the same base cannot both pass the base check and the
 * second silently overwrite the first.
 */
const applying = new WeakMap<Limiter, Promise<unknown>>()

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
    // A larger file cannot be shown whole, and an edit of the first part would be written back
    // as the whole file: everything after the cut would be lost.
    const size = (await stat(target.path)).size
    if (size > maxBytes) {
      const reason = `${target.path} is larger than ${maxBytes} bytes (maxEditBytes): edit it by hand, or mount the dashboard with a larger maxEditBytes`
      return { target: { kind: 'refused', reason }, text: '', base: sha256('') }
    }
    text = await readFile(target.path, 'utf8')
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
export function editRules(
  limiter: Limiter,
  text: string,
  base: string,
  apply: boolean,
  maxBytes: number,
): Promise<EditOutcome> {
  if (!apply) return editOnce(limiter, text, base, false, maxBytes)
  // The base is checked inside the turn, against the text as the previous apply left it.
  const previous = applying.get(limiter) ?? Promise.resolve()
  const turn = previous.then(() => editOnce(limiter, text, base, true, maxBytes))
  const settled = turn.catch(() => undefined)
  applying.set(limiter, settled)
  void settled.then(() => {
    if (applying.get(limiter) === settled) applying.delete(limiter)
  })
  return turn
}

async function editOnce(
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
  const warnings = weakenings(limiter.rules, config.rules)
  const outcome = await applyParsed(limiter, target, text, current.text, config, diff, changed, apply)
  return outcome.ok && warnings.length > 0 ? { ...outcome, warnings } : outcome
}

async function applyParsed(
  limiter: Limiter,
  target: EditTarget,
  text: string,
  previous: string,
  config: DianaConfig,
  diff: DiffLine[],
  changed: boolean,
  apply: boolean,
): Promise<EditOutcome> {
  if (!apply) return { ok: true, diff, changed, message: changed ? 'valid; not applied yet' : 'no change' }
  if (!changed) return { ok: true, diff, changed, message: 'no change' }
  if (target.kind === 'memory') {
    try {
      limiter.setRules(config.rules)
    } catch (error) {
      return { ok: false, status: 422, message: errorReason(error, true), diff, attempted: true }
    }
    return { ok: true, diff, changed, message: 'in force', version: limiter.inspect().rulesVersion }
  }
  if (target.kind !== 'file') return { ok: false, status: 409, message: 'nowhere to apply', diff }
  return writeAndWait(limiter, target.path, text, previous, config, diff)
}

/**
 * How `next` lowers the protection of `now`: rules removed, rules made shadow-only (they then
 * deny nothing), and none left denying at all. A valid edit may do all of it on purpose, but
 * not without the editor (and the log) being told in so many words.
 */
export function weakenings(
  now: readonly { name: string; shadow?: boolean }[],
  next: readonly { name: string; shadow?: boolean }[],
): string[] {
  const byName = new Map(next.map((rule) => [rule.name, rule]))
  const removed = now.filter((rule) => !byName.has(rule.name)).map((rule) => rule.name)
  const shadowed = now
    .filter((rule) => rule.shadow !== true && byName.get(rule.name)?.shadow === true)
    .map((rule) => rule.name)
  const warnings: string[] = []
  if (removed.length > 0) warnings.push(`removes ${removed.join(', ')}`)
  if (shadowed.length > 0) warnings.push(`makes ${shadowed.join(', ')} shadow-only (denies nothing)`)
  if (now.some((rule) => rule.shadow !== true) && !next.some((rule) => rule.shadow !== true)) {
    warnings.push('leaves no rule that denies anything: every request will be allowed')
  }
  return warnings
}

/**
 * Writes the file atomically and waits for the hot reload to take (or reject) it. A text the
 * reload rejects (it may check more than the dashboard can, e.g. its own `maxConfigBytes`) is
 * replaced by the previous one: left on disk, it would stop the next start of the process.
 */
async function writeAndWait(
  limiter: Limiter,
  path: string,
  text: string,
  previous: string,
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
  const onError = (error: Error) => {
    settle?.({
      ok: false,
      status: 422,
      message: `written, but the reload refused it: ${error.message}`,
      diff,
      attempted: true,
    })
  }
  limiter.on('config', onConfig)
  limiter.on('configError', onError)
  const timer = setTimeout(
    () =>
      settle?.({
        ok: false,
        status: 504,
        message: `written to ${path}; the reload did not report within ${RELOAD_WAIT_MS / 1000} s`,
        diff,
        attempted: true,
      }),
    RELOAD_WAIT_MS,
  )
  try {
    await writeAtomically(path, text)
    if (unchangedRules)
      return { ok: true, diff, changed: true, message: `written to ${path}; the rules in force are the same` }
    const outcome = await settled
    if (outcome.ok || outcome.status !== 422) return outcome
    return { ...outcome, message: `${outcome.message}; ${await restore(path, text, previous)}` }
  } catch (error) {
    return {
      ok: false,
      status: 500,
      message: `cannot write ${path}: ${errorReason(error, true)}`,
      diff,
      attempted: true,
    }
  } finally {
    clearTimeout(timer)
    limiter.off('config', onConfig)
    limiter.off('configError', onError)
  }
}

/** Puts `previous` back unless someone changed the file since `written`; says what it did. */
async function restore(path: string, written: string, previous: string): Promise<string> {
  try {
    if ((await readFile(path, 'utf8')) !== written) return 'the file changed since, so it was left as it is'
    await writeAtomically(path, previous)
    return 'the file was restored as it was'
  } catch (error) {
    return `the file could not be restored (${errorReason(error, true)}): fix it by hand before the next start`
  }
}

/**
 * Writes a sibling temporary file, flushes it and renames it over `path`: a reader (the
 * watcher, a deploy tool) sees the old file or the new one, never half of it. A symlink is
 * followed and its target replaced, so the link stays (a config map, a deploy's `current`
 * link) and the watcher sees the change where it looks.
 */
async function writeAtomically(linked: string, text: string): Promise<void> {
  const path = await realpath(linked)
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  // The file keeps its permissions: a rename would otherwise give it the temporary's. Set with
  // chmod, since open's mode is cut by the umask (a group-writable file would lose that bit).
  const mode = (await stat(path)).mode & 0o777
  const handle = await open(temporary, 'wx', mode)
  try {
    await handle.chmod(mode)
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
