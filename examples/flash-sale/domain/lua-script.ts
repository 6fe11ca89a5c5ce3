import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'

export type ScriptClient = Pick<Redis, 'evalsha' | 'eval'>

/**
 * A Lua script run by its SHA1 (EVALSHA), sent in full only when the server answers NOSCRIPT:
 * after a restart or a SCRIPT FLUSH, and the first time.
 */
export function luaScript(source: string) {
  const sha = createHash('sha1').update(source).digest('hex')
  return async (client: ScriptClient, keys: readonly string[], args: readonly (string | number)[]) => {
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error
      return client.eval(source, keys.length, ...keys, ...args)
    }
  }
}
