import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'

const SERVER = join(import.meta.dirname, '../../examples/flash-sale/server.ts')

export interface ShopProcess {
  child: ChildProcess
  /** The shop's address, from the line `npm run demo` prints. */
  url: string
  /** All it printed so far, stdout and stderr. */
  output(): string
}

/**
 * `npm run demo` in its own process (`node --import tsx server.ts`) with `env` added; resolves
 * once it printed its address (and, when asked, the line naming the dashboard too).
 */
export async function startShopProcess(
  env: Record<string, string>,
  options: { waitFor?: RegExp; children?: ChildProcess[] } = {},
): Promise<ShopProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  options.children?.push(child)
  const waitFor = options.waitFor ?? /\[flash-sale\] (http:\/\/127\.0\.0\.1:\d+)/
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`shop did not start:\n${output}`)), 30_000)
    const read = (chunk: Buffer) => {
      output += chunk.toString()
      const match = waitFor.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    }
    child.stdout?.on('data', read)
    child.stderr?.on('data', read)
    child.once('exit', (code) => reject(new Error(`shop exited with ${code}:\n${output}`)))
  })
  return { child, url, output: () => output }
}
