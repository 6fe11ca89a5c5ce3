import type { Redis } from 'ioredis'

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
