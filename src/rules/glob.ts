/**
 * Path globs: `*` matches within one segment, `**` across segments, `?` one character. As in
 * Ant and Spring patterns, a trailing `/**` also matches the bare prefix, so `/api/seckill/**`
 * covers `/api/seckill` too, and `**` followed by `/` matches any number of whole segments,
 * none included. Every other character stands for itself. Matching is case-sensitive, by UTF-16
 * code unit, and `**` crosses any unit, line breaks included (a path with a line break in it
 * must not escape a rule).
 *
 * The path comes from the client, so matching must not backtrack: a rule's globs are compiled
 * together to one nondeterministic automaton that reads the path once, left to right, keeping
 * the set of states it could be in (Thompson's construction). Each distinct set met is
 * remembered as a state of a deterministic automaton, built as paths need it and capped in
 * size, so a path usually costs one table lookup per character; at worst (a path that keeps
 * meeting sets the table cannot hold) a character costs a walk over the states, of which the
 * rule set's bounded glob length ({@link MAX_GLOB_UNITS_PER_RULE_SET}) allows a bounded number.
 * Work is linear in the path length either way.
 */

/** Longest glob a rule may give; bounds the work per character of the path. */
export const MAX_GLOB_LENGTH = 256
/** Most globs one rule may list in `match.path`; they are compiled into one automaton. */
export const MAX_GLOBS_PER_RULE = 32
/**
 * Most glob code units a whole rule set may hold, lower-case copies included (see
 * `compileRules`). A path character costs at most one step per automaton state, and every
 * rule's automaton has about one state per glob character, so this bounds what one check can
 * cost across all rules: the limits per glob and per rule alone allowed 500 × 32 × 256.
 */
export const MAX_GLOB_UNITS_PER_RULE_SET = 16_384
/**
 * Size of the remembered deterministic states of one automaton, in array cells (their state
 * lists and the edges taken): 32 per automaton state, at least 8192. Past this the table is
 * started afresh, so memory stays bounded even for globs whose deterministic automaton would
 * have very many states: tens of KB for one glob, and a few MB for a whole rule set, whose
 * globs {@link MAX_GLOB_UNITS_PER_RULE_SET} bounds. Growing with the states lets the globs of
 * a rule, compiled together, remember about what each would alone.
 */
const CACHED_CELLS_PER_STATE = 32
const MIN_CACHED_CELLS = 8192
/** Table restarts a stretch of one path may cause before it is read without the table. */
const MAX_RESETS_PER_STRETCH = 2
/** Characters read without the table before it is tried again. */
const WALK_STRETCH = 1024

// A state's edges test UTF-16 code units; these negative values are the classes of units.
const NONE = -1
const ANY = -2 // any code unit: `**`
const NOT_SLASH = -3 // any but `/`: `*` and `?`
const OTHER = -4 // stands for every unit that is neither `/` nor a literal of the glob
const SLASH = 0x2f

/** Counts work done, for tests that prove matching stays linear. */
export interface GlobMeter {
  steps: number
}

export interface Glob {
  /** Whether `path` matches any of the globs compiled together. */
  test(path: string, meter?: GlobMeter): boolean
}

/** A state of the deterministic automaton: a set of automaton states, and its edges as found. */
interface SetState {
  readonly states: readonly number[]
  readonly accepting: boolean
  /** Holds a state that accepts and loops on anything: whatever follows, the path matches. */
  readonly settled: boolean
  /** By character class; a hole until a path first takes that edge (sparse: many classes). */
  readonly next: (SetState | undefined)[]
}

/** Compiles one glob (see {@link compileGlobs}). */
export function compileGlob(glob: string): Glob {
  return new GlobMatcher([glob])
}

/**
 * Compiles globs into one automaton that matches a path when any of them does, reading the
 * path once whatever their number. Their total length is the rules' to bound (each glob to
 * {@link MAX_GLOB_LENGTH} by the schema, all of a rule set's to
 * {@link MAX_GLOB_UNITS_PER_RULE_SET} by `compileRules`): the work per path character grows
 * with it.
 */
export function compileGlobs(globs: readonly string[]): Glob {
  return new GlobMatcher([...new Set(globs)])
}

class GlobMatcher implements Glob {
  /** Per automaton state: the class of units it loops on (NONE, ANY or NOT_SLASH). */
  readonly #loop: number[] = []
  /**
   * Per automaton state: the unit (a code, or NOT_SLASH) that moves it to the next state,
   * or NONE. Construction makes the target of a consuming edge always the state after.
   */
  readonly #step: number[] = []
  /**
   * Per automaton state: states also entered, without reading anything, whenever it is. Always
   * later states, met in increasing order: the entry state's alternatives' starts, else the
   * next one or two states (see `#closure`).
   */
  readonly #skips: number[][] = []
  readonly #accepting: boolean[] = []
  /** Character class of each code unit: 0 = OTHER, 1 = `/`, 2... = a literal of the globs. */
  readonly #classOf = new Map<number, number>()
  /** The same for ASCII, where paths mostly are: an array read instead of a hash lookup. */
  readonly #asciiClassOf = new Uint16Array(128)
  readonly #classUnits: number[] = [OTHER, SLASH]
  /** Remembered sets by a hash of their states; colliding sets share a bucket. */
  #sets = new Map<number, SetState[]>()
  #cells = 0
  readonly #maxCells: number
  #start: SetState
  // Scratch space for `#advance` and `#closure`, reused so a table miss allocates only the
  // state list it keeps.
  readonly #reached: number[] = []
  readonly #pending: number[] = []
  #marked: Uint8Array = new Uint8Array(0)
  #walkFrom: Int32Array = new Int32Array(0)
  #walkTo: Int32Array = new Int32Array(0)
  /** Times the table was started afresh, so a path can tell it is refilling it. */
  #resets = 0

  constructor(globs: readonly string[]) {
    // With several globs, state 0 only skips to each one's start: one automaton for all.
    const entry = globs.length === 1 ? NONE : this.#addState()
    for (const glob of globs) {
      const start = this.#addState()
      if (entry !== NONE) this.#skips[entry]?.push(start)
      this.#compile(glob)
    }
    if (globs.length === 0) this.#addState() // matches nothing: no state accepts
    this.#classOf.set(SLASH, 1)
    for (const [unit, cls] of this.#classOf) if (unit < 128) this.#asciiClassOf[unit] = cls
    this.#maxCells = Math.max(MIN_CACHED_CELLS, CACHED_CELLS_PER_STATE * this.#step.length)
    this.#marked = new Uint8Array(this.#step.length)
    this.#walkFrom = new Int32Array(this.#step.length)
    this.#walkTo = new Int32Array(this.#step.length)
    this.#start = this.#intern(this.#closure([0]))
  }

  test(path: string, meter?: GlobMeter): boolean {
    let steps = 0
    let current = this.#start
    let resets = this.#resets
    for (let i = 0; i < path.length && current.states.length > 0 && !current.settled; i++) {
      const unit = path.charCodeAt(i)
      const cls = unit < 128 ? (this.#asciiClassOf[unit] as number) : (this.#classOf.get(unit) ?? 0)
      let next = current.next[cls]
      if (next === undefined) {
        if (this.#resets - resets >= MAX_RESETS_PER_STRETCH) {
          // This path meets more sets than the table holds: remembering them costs more than
          // it saves, so a stretch of it walks the states directly; then the table is tried
          // again, as the path may have settled into sets met before.
          const end = Math.min(path.length, i + WALK_STRETCH)
          const walked = this.#walk(path, i, end, current.states)
          steps += walked.steps
          if (walked.settled) {
            if (meter) meter.steps += steps
            return true
          }
          current = this.#intern(walked.states)
          resets = this.#resets
          i = end - 1
          continue
        }
        steps += current.states.length
        next = this.#advance(current, cls)
      }
      steps++
      current = next
    }
    if (meter) meter.steps += steps
    return current.accepting
  }

  /**
   * Reads `path` from `from` to `to` in the states `states` without the table: per character,
   * one walk over the states left, then the closure of those reached. Returns the states at
   * `to` (sorted, fit to intern), or that an accepting catch-all state was reached.
   */
  #walk(
    path: string,
    from: number,
    to: number,
    states: readonly number[],
  ): { states: number[]; settled: boolean; steps: number } {
    const marked = this.#marked
    let current = this.#walkFrom
    let next = this.#walkTo
    let length = states.length
    for (let j = 0; j < length; j++) current[j] = states[j] as number
    let steps = 0
    let settled = false
    for (let i = from; i < to && length > 0 && !settled; i++) {
      const unit = path.charCodeAt(i)
      let reached = 0
      for (let j = 0; j < length; j++) {
        const state = current[j] as number
        const loop = this.#loop[state]
        if ((loop === ANY || (loop === NOT_SLASH && unit !== SLASH)) && marked[state] !== 1) {
          marked[state] = 1
          next[reached++] = state
        }
        const step = this.#step[state]
        if ((step === unit || (step === NOT_SLASH && unit !== SLASH)) && marked[state + 1] !== 1) {
          marked[state + 1] = 1
          next[reached++] = state + 1
        }
      }
      // The closure: the list grows as skips are followed, and is read to its end.
      for (let j = 0; j < reached; j++) {
        const state = next[j] as number
        if (this.#accepting[state] === true && this.#loop[state] === ANY) settled = true
        for (const skip of this.#skips[state] as number[]) {
          if (marked[skip] === 1) continue
          marked[skip] = 1
          next[reached++] = skip
        }
      }
      for (let j = 0; j < reached; j++) marked[next[j] as number] = 0
      steps += length + 1
      ;[current, next] = [next, current]
      length = reached
    }
    const left = Array.from(current.subarray(0, length)).sort((a, b) => a - b)
    return { states: left, settled, steps }
  }

  /** Adds the states of one glob, its start being the last state added. */
  #compile(glob: string): void {
    // Mirrors the original regular-expression translation token by token, so every glob
    // keeps its meaning; only the way it is matched changed.
    let beforeSlash = NONE // the state whose step is the `/` just read, when that was the last token
    for (let i = 0; i < glob.length; i++) {
      const char = glob[i] as string
      const last = this.#step.length - 1
      if (char === '*') {
        if (glob[i + 1] === '*') {
          i++
          if (i === glob.length - 1 && beforeSlash !== NONE) {
            // `prefix/**` at the end: the state after `/` takes anything, and `prefix` alone matches.
            this.#loop[last] = ANY
            this.#accepting[beforeSlash] = true
          } else if (glob[i + 1] === '/') {
            // `**/`: nothing, or anything that ends with `/`.
            i++
            const inside = this.#addState()
            const after = this.#addState()
            this.#loop[inside] = ANY
            this.#step[inside] = SLASH
            this.#skips[last]?.push(inside, after)
          } else {
            this.#repeat(last, ANY)
          }
        } else {
          this.#repeat(last, NOT_SLASH)
        }
        beforeSlash = NONE
      } else if (char === '?') {
        this.#step[last] = NOT_SLASH
        this.#addState()
        beforeSlash = NONE
      } else {
        const unit = glob.charCodeAt(i)
        this.#step[last] = unit
        if (unit !== SLASH && !this.#classOf.has(unit)) {
          this.#classOf.set(unit, this.#classUnits.length)
          this.#classUnits.push(unit)
        }
        this.#addState()
        beforeSlash = char === '/' ? last : NONE
      }
    }
    this.#accepting[this.#step.length - 1] = true
  }

  /** `*` or `**` not at a segment boundary: a state that loops on `units`, entered at once. */
  #repeat(from: number, units: number): void {
    const loop = this.#addState()
    this.#loop[loop] = units
    this.#skips[from]?.push(loop)
  }

  #addState(): number {
    this.#loop.push(NONE)
    this.#step.push(NONE)
    this.#skips.push([])
    this.#accepting.push(false)
    return this.#step.length - 1
  }

  /** The set `from` moves to on a unit of class `cls`, remembered on `from` for next time. */
  #advance(from: SetState, cls: number): SetState {
    const unit = this.#classUnits[cls] as number
    const reached = this.#reached
    reached.length = 0
    for (const state of from.states) {
      const loop = this.#loop[state]
      if (loop === ANY || (loop === NOT_SLASH && unit !== SLASH)) reached.push(state)
      const step = this.#step[state]
      if (step === unit || (step === NOT_SLASH && unit !== SLASH)) reached.push(state + 1)
    }
    if (this.#cells >= this.#maxCells) {
      // Start the table afresh; sets already handed out stay valid, just no longer shared.
      this.#sets = new Map()
      this.#cells = 0
      this.#resets++
      this.#start = this.#intern(this.#closure([0]))
    }
    const next = this.#intern(this.#closure(reached))
    from.next[cls] = next
    this.#cells++
    return next
  }

  /**
   * The states reached from `states` (in increasing order, repeats allowed) without reading
   * anything: sorted, without repeats. A skip leads to one of the next two states, so taking
   * states in increasing order queues their targets in increasing order too, and merging the
   * input with that queue yields the closure sorted in one pass. Only the entry state, which
   * skips to every glob's start, breaks that order, and it is only ever in the start set:
   * that one is sorted afterwards.
   */
  #closure(states: readonly number[]): number[] {
    const marked = this.#marked
    const pending = this.#pending
    pending.length = 0
    const closed: number[] = []
    let sorted = true
    let i = 0
    let p = 0
    while (i < states.length || p < pending.length) {
      const fromInput =
        p >= pending.length || (i < states.length && (states[i] as number) <= (pending[p] as number))
      const state = fromInput ? (states[i++] as number) : (pending[p++] as number)
      if (marked[state] === 1) continue
      marked[state] = 1
      if (closed.length > 0 && state < (closed[closed.length - 1] as number)) sorted = false
      closed.push(state)
      for (const skip of this.#skips[state] as number[]) pending.push(skip)
    }
    for (const state of closed) marked[state] = 0
    return sorted ? closed : closed.sort((a, b) => a - b)
  }

  #intern(states: number[]): SetState {
    let hash = states.length
    for (const state of states) hash = Math.imul(hash ^ state, 0x9e3779b1)
    let bucket = this.#sets.get(hash)
    if (bucket === undefined) {
      bucket = []
      this.#sets.set(hash, bucket)
    }
    for (const set of bucket) if (sameStates(set.states, states)) return set
    const set: SetState = {
      states,
      accepting: states.some((state) => this.#accepting[state] === true),
      settled: states.some((state) => this.#accepting[state] === true && this.#loop[state] === ANY),
      next: [],
    }
    bucket.push(set)
    this.#cells += states.length + 1
    return set
  }
}

function sameStates(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
