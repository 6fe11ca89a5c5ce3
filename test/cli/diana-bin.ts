import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../../', import.meta.url))

/**
 * The `diana` command as installed (bin/diana.js, which runs the build in dist/, made by
 * `npm ci` / `npm run build`), in its own process: exit code, stdout and stderr as a user sees them.
 */
export function dianaBin(
  args: string[],
  cwd: string = root,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [`${root}bin/diana.js`, ...args],
      { cwd, timeout: 30_000 },
      (error, stdout, stderr) => {
        const code = error && typeof error.code === 'number' ? error.code : error ? -1 : 0
        resolve({ code, stdout, stderr })
      },
    )
  })
}
