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

/**
 * QUIT when connected (pending replies are still read), else drop the connection: a QUIT sent
 * to a server that is gone would wait for a reconnection that may never come.
 */
export async function closeClient(client: Pick<Redis, 'status' | 'quit' | 'disconnect'>): Promise<void> {
  if (client.status !== 'ready') {
    client.disconnect()
    return
  }
  await client.quit().catch(() => client.disconnect())
}
