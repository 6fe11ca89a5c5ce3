import { type FleetMember, startFleet as startProcesses } from '../fleet'
import { LEASE_WORKER_COMMAND } from './options'
import type { FromWorker, ToWorker } from './protocol'

/** The benchmark's handle on one worker process (see bench/fleet.ts). */
export type Worker = FleetMember<ToWorker, FromWorker>

/** Forks `count` workers: this same CLI with the hidden subcommand. */
export function startFleet(count: number): Worker[] {
  return startProcesses<ToWorker, FromWorker>(count, LEASE_WORKER_COMMAND, 'worker')
}
