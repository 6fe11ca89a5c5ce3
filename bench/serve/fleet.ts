import { type FleetMember, startFleet } from '../fleet'
import type { FromClient, ToClient } from './client'
import { SERVE_CLIENT_COMMAND } from './options'

/** The benchmark's handle on one client process (see bench/fleet.ts). */
export type Client = FleetMember<ToClient, FromClient>

/** Forks `count` clients: this same CLI with the hidden subcommand. */
export function startClients(count: number): Client[] {
  return startFleet<ToClient, FromClient>(count, SERVE_CLIENT_COMMAND, 'client')
}
