/**
 * Path globs: `*` matches within one segment, `**` across segments, `?` one character. As in
 * Ant and Spring patterns, a trailing `/**` also matches the bare prefix, so `/api/seckill/**`
 * covers `/api/seckill` too, and `**` followed by `/` matches any number of whole segments,
 * none included. Every other character stands for itself. Matching is case-sensitive, by UTF-16
 * code unit, and `**` crosses any unit, line breaks included (a path with a line break in it
 * must not escape a rule).
 *
 * The path comes from the client, so matching must not backtrack: a glob is compiled to a
 * nondeterministic automaton that reads the path once, left to right, keeping the set of states
 * it could be in (Thompson's construction). Each distinct set met is remembered as a state of a
 * deterministic automaton, built as paths need it and capped in size, so a path usually costs
 * one table lookup per character; at worst (the cap reached) a character costs a walk over the
 * states, of which a glob of at most {@link MAX_GLOB_LENGTH} characters has a bounded number.
 * Work is linear in the path length either way.
 */

/** Longest glob a rule may give; bounds the work per character of the path. */
export const MAX_GLOB_LENGTH = 256
/** Most globs one rule may list in `match.path`; each is tried in turn. */
export const MAX_GLOBS_PER_RULE = 32
/**
 * Size of the remembered deterministic states of one glob, in array cells (their state lists
 * and edge tables). Past this the table is started afresh, so memory stays bounded (tens of
 * KB) even for globs whose deterministic automaton would have very many states.
 */
const MAX_CACHED_CELLS = 8192

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
  readonly source: string
  test(path: string, meter?: GlobMeter): boolean
}

/** A state of the deterministic automaton: a set of automaton states, and its edges as found. */
interface SetState {
  readonly states: readonly number[]
  readonly accepting: boolean
  /** Holds a state that accepts and loops on anything: whatever follows, the path matches. */
  readonly settled: boolean
  /** By character class; undefined until a path first takes that edge. */
  readonly next: (SetState | undefined)[]
}

/**
 * Compiles a glob. Its length is the rule schema's to bound (to {@link MAX_GLOB_LENGTH}
 * characters, so at most twice as many code units): the work per path character grows with it.
 */
export function compileGlob(glob: string): Glob {
  return new GlobMatcher(glob)
}

class GlobMatcher implements Glob {
  readonly source: string
  /** Per automaton state: the class of units it loops on (NONE, ANY or NOT_SLASH). */
  readonly #loop: number[] = []
  /**
   * Per automaton state: the unit (a code, or NOT_SLASH) that moves it to the next state,
   * or NONE. Construction makes the target of a consuming edge always the state after.
   */
  readonly #step: number[] = []
  /** Per automaton state: states also entered, without reading anything, whenever it is. */
  readonly #skips: number[][] = []
  readonly #accepting: boolean[] = []
  /** Character class of each code unit: 0 = OTHER, 1 = `/`, 2... = a literal of the glob. */
  readonly #classOf = new Map<number, number>()
  /** The same for ASCII, where paths mostly are: an array read instead of a hash lookup. */
  readonly #asciiClassOf = new Uint16Array(128)
  readonly #classUnits: number[] = [OTHER, SLASH]
  #sets = new Map<string, SetState>()
  #cells = 0
  #start: SetState

  constructor(glob: string) {
    this.source = glob
    this.#addState()
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
    this.#classOf.set(SLASH, 1)
    for (const [unit, cls] of this.#classOf) if (unit < 128) this.#asciiClassOf[unit] = cls
    this.#start = this.#intern(this.#closure([0]))
  }

  test(path: string, meter?: GlobMeter): boolean {
    let steps = 0
    let current = this.#start
    for (let i = 0; i < path.length && current.states.length > 0 && !current.settled; i++) {
      const unit = path.charCodeAt(i)
      const cls = unit < 128 ? (this.#asciiClassOf[unit] as number) : (this.#classOf.get(unit) ?? 0)
      let next = current.next[cls]
      if (next === undefined) {
        steps += current.states.length
        next = this.#advance(current, cls)
      }
      steps++
      current = next
    }
    if (meter) meter.steps += steps
    return current.accepting
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
    const reached: number[] = []
    for (const state of from.states) {
      const loop = this.#loop[state]
      if (loop === ANY || (loop === NOT_SLASH && unit !== SLASH)) reached.push(state)
      const step = this.#step[state]
      if (step === unit || (step === NOT_SLASH && unit !== SLASH)) reached.push(state + 1)
    }
    if (this.#cells >= MAX_CACHED_CELLS) {
      // Start the table afresh; sets already handed out stay valid, just no longer shared.
      this.#sets = new Map()
      this.#cells = 0
      this.#start = this.#intern(this.#closure([0]))
    }
    const next = this.#intern(this.#closure(reached))
    from.next[cls] = next
    return next
  }

  /** The states reached from `states` without reading anything, sorted, without repeats. */
  #closure(states: readonly number[]): number[] {
    // Skips only lead forward, so one sweep in state order finds them all, already sorted.
    const reached = new Uint8Array(this.#step.length)
    for (const state of states) reached[state] = 1
    const closed: number[] = []
    for (let state = 0; state < reached.length; state++) {
      if (reached[state] !== 1) continue
      closed.push(state)
      for (const skip of this.#skips[state] ?? []) reached[skip] = 1
    }
    return closed
  }

  #intern(states: number[]): SetState {
    const key = states.join(',')
    let set = this.#sets.get(key)
    if (set === undefined) {
      set = {
        states,
        accepting: states.some((state) => this.#accepting[state] === true),
        settled: states.some((state) => this.#accepting[state] === true && this.#loop[state] === ANY),
        next: new Array<SetState | undefined>(this.#classUnits.length).fill(undefined),
      }
      this.#sets.set(key, set)
      this.#cells += states.length + set.next.length
    }
    return set
  }
}
