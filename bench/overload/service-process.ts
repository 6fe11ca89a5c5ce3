import { type FromServer, reportUsage } from '../server-process'
import { VARIANTS, type Variant } from './options'
import { startService } from './service'
import { createAdmission } from './variant-admission'

/**
 * The service process of `diana bench overload`: one variant of the fixed-capacity service,
 * in a process of its own so the load generator (which needs a core for itself at 10× load)
 * does not delay the service's timers, nor the other way round.
 */
export async function serve(args: string[]): Promise<number> {
  const send = (message: FromServer) => process.send?.(message)
  if (!process.send) {
    process.stderr.write(
      'diana bench: the overload service process must be started by "diana bench overload"\n',
    )
    return 2
  }
  const [variant, slots, serviceMs] = args
  if (!(VARIANTS as readonly string[]).includes(variant as string)) {
    send({ type: 'error', message: `unknown variant "${variant}"` })
    return 2
  }
  try {
    const admission = createAdmission(variant as Variant, Number(slots), Number(serviceMs))
    const server = await startService(Number(slots), Number(serviceMs), admission)
    reportUsage(server, send)
    const address = server.address()
    send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 })
  } catch (error) {
    send({ type: 'error', message: (error as Error).message })
    return 1
  }
  return new Promise<number>(() => {})
}
