/**
 * What went wrong, for a one-line message: an error's message, or what was thrown, as text.
 * With `preferCode`, a system error's code (`ENOENT`, `ECONNREFUSED`) instead of its message,
 * for lines that already name the file or source the message would repeat.
 */
export function errorReason(error: unknown, preferCode = false): string {
  if (!(error instanceof Error)) return String(error)
  return (preferCode ? (error as NodeJS.ErrnoException).code : undefined) ?? error.message
}
