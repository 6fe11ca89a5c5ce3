import { loadRlsMessages, type RlsMessages } from '../../src/serve/grpc/load-proto'

/**
 * The RLS v3 messages from the protos the package ships, loaded as `diana serve` loads them
 * (protobufjs), so the clients and the floor speak exactly what the server reads.
 */
export function loadMessages(): RlsMessages {
  return loadRlsMessages()
}
