/**
 * Where Diana writes its warnings, one line each and never one per request: a store going
 * away and coming back, a rejected configuration, a failing hook. `console` is one; so is any
 * logger with a `warn` method (pino, winston, Fastify's).
 */
export interface Logger {
  warn(message: string): void
}
