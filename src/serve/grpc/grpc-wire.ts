/**
 * The bytes and headers of gRPC over HTTP/2 (grpc/grpc PROTOCOL-HTTP2.md) that a unary server
 * needs: the 5-byte message prefix, status codes, `grpc-timeout` and `grpc-message`. Written by
 * hand with `unary-server.ts` instead of using @grpc/grpc-js: see there for why.
 */

/** gRPC status codes (grpc/grpc doc/statuscodes.md) the service answers with. */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const

/** A call answered with a status other than OK, and the message the client is told. */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
    this.name = 'GrpcError'
  }
}

/** Length-Prefixed-Message: a compressed flag (0: not compressed), a big-endian uint32 length, the message. */
export const PREFIX_BYTES = 5

/** `message` with its 5-byte prefix, uncompressed: the one DATA payload of an answer. */
export function frameMessage(message: Uint8Array): Buffer {
  const framed = Buffer.allocUnsafe(PREFIX_BYTES + message.length)
  framed[0] = 0
  framed.writeUInt32BE(message.length, 1)
  framed.set(message, PREFIX_BYTES)
  return framed
}

/**
 * `grpc-timeout`: 1 to 8 digits and a unit (Hours, Minutes, Seconds, milli, micro, nano), in
 * milliseconds; undefined for a header that is absent or not of that form (ignored, as
 * grpc-go ignores it).
 */
export function readGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined
  const amount = Number(value.slice(0, -1))
  if (!Number.isInteger(amount) || amount < 0 || !/^\d+$/.test(value.slice(0, -1))) return undefined
  switch (value[value.length - 1]) {
    case 'H':
      return amount * 3_600_000
    case 'M':
      return amount * 60_000
    case 'S':
      return amount * 1000
    case 'm':
      return amount
    case 'u':
      return amount / 1000
    case 'n':
      return amount / 1_000_000
    default:
      return undefined
  }
}

/**
 * `grpc-message` is percent-encoded: bytes outside printable ASCII and `%` itself as `%XX`
 * of their UTF-8, so any text (a domain name the client sent, say) stays a valid header value.
 */
export function encodeGrpcMessage(message: string): string {
  // The common case, printable ASCII without '%', is sent as is.
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message
  let out = ''
  for (const byte of Buffer.from(message, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** The inverse of {@link encodeGrpcMessage}, for clients and tests; a malformed escape is kept as is. */
export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
