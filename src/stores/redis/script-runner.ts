import { createHash } from 'node:crypto'

/**
 * The slice of an ioredis `Redis` or `Cluster` that scripts need. Both satisfy it; a Cluster
 * routes the call by its first key, so every key of one call must share a slot.
 */
export interface ScriptClient {
  evalsha(sha: string, numkeys: number, ...args: string[]): Promise<unknown>
  eval(script: string, numkeys: number, ...args: string[]): Promise<unknown>
}

/**
 * One Lua script, called by EVALSHA with the SHA1 computed here from the source, so no hash
 * is ever kept by hand. When the server does not know the script (restart, failover to a
 * replica, `SCRIPT FLUSH`, a fresh Cluster node) the reply is NOSCRIPT and the call is sent
 * again as EVAL, which also loads it for the next EVALSHA. This is the only place that
 * handles NOSCRIPT.
 *
 * Public so that an application keeping its own state next to Diana's counters (the
 * flash-sale example's stock and orders) runs its scripts the way the Redis store does. It
 * needs no ioredis import of its own: pass any client with `evalsha` and `eval`.
 *
 * @example
 * ```ts
 * import { RedisScript } from 'diana-limiter'
 * const incrementTo = new RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
 * const total = await incrementTo.run(redis, ['visits:{home}'], ['1'])
 * ```
 */
export class RedisScript {
  /** The Lua source, sent with EVAL when the server lacks the script. */
  readonly source: string
  /** SHA1 of `source` in hex, the name EVALSHA calls it by. */
  readonly sha: string

  constructor(source: string) {
    this.source = source
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  /**
   * EVALSHA, then EVAL on NOSCRIPT. Other errors (WRONGTYPE, a script error, a timeout) reject
   * the returned promise unchanged. Resolves with the script's reply as the client decodes it.
   */
  run(client: ScriptClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return client.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error
      return client.eval(this.source, keys.length, ...keys, ...args)
    })
  }

  /**
   * {@link run} with callbacks instead of a promise of its own: one promise fewer per call, for
   * the Redis store's checks. Exactly one of `onReply` and `onError` is called.
   */
  call(
    client: ScriptClient,
    keys: readonly string[],
    args: readonly string[],
    onReply: (reply: unknown) => void,
    onError: (error: unknown) => void,
  ): void {
    client.evalsha(this.sha, keys.length, ...keys, ...args).then(onReply, (error: unknown) => {
      if (!isNoScript(error)) onError(error)
      else client.eval(this.source, keys.length, ...keys, ...args).then(onReply, onError)
    })
  }

  /** Sends the source every time: one round trip whatever the server's script cache holds. */
  runByEval(client: ScriptClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return client.eval(this.source, keys.length, ...keys, ...args)
  }
}

export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}
