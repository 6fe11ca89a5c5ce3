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
 */
export class RedisScript {
  readonly source: string
  readonly sha: string

  constructor(source: string) {
    this.source = source
    this.sha = createHash('sha1').update(source).digest('hex')
  }

  run(client: ScriptClient, keys: readonly string[], args: readonly string[]): Promise<unknown> {
    return client.evalsha(this.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
      if (!isNoScript(error)) throw error
      return client.eval(this.source, keys.length, ...keys, ...args)
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
