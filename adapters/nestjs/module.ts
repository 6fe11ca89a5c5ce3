import {
  type DynamicModule,
  type FactoryProvider,
  Module,
  type ModuleMetadata,
  type Provider,
} from '@nestjs/common'
import { DianaCore, type DianaNestOptions, WHERE } from './core'
import { DianaGuard } from './guard'
import { DIANA_CORE, DIANA_LIMITER, DIANA_OPTIONS } from './tokens'

/** Module-level settings of `DianaModule.forRoot` / `forRootAsync`, beside Diana's options. */
export interface DianaModuleSettings {
  /**
   * Registers the module globally, so that `DianaGuard` and `DIANA_LIMITER` can be used in every
   * module of the app without importing `DianaModule` there.
   * @default true
   */
  global?: boolean
}

/** Options of `DianaModule.forRootAsync`: the Nest convention for options from other providers. */
export interface DianaModuleAsyncOptions extends DianaModuleSettings {
  /** Modules whose providers the factory needs (e.g. `ConfigModule`). */
  imports?: ModuleMetadata['imports']
  /** Tokens of the providers handed to `useFactory`, in order (e.g. `[ConfigService]`). */
  inject?: FactoryProvider['inject']
  /** Makes the options (rules, store, hooks...), at once or through a promise. */
  // biome-ignore lint/suspicious/noExplicitAny: Nest hands the injected providers as they are
  useFactory: (...args: any[]) => DianaNestOptions | Promise<DianaNestOptions>
}

/** The core is built from the options once; its limiter is closed with the app if built here. */
const coreProvider: Provider = {
  provide: DIANA_CORE,
  useFactory: (options: DianaNestOptions) => new NestCore(options),
  inject: [DIANA_OPTIONS],
}

const limiterProvider: Provider = {
  provide: DIANA_LIMITER,
  useFactory: (core: DianaCore) => core.limiter,
  inject: [DIANA_CORE],
}

/** The core with Nest's shutdown hook: `app.close()` closes the limiter the module built. */
class NestCore extends DianaCore {
  onApplicationShutdown(): Promise<void> {
    return this.close()
  }
}

function dynamicModule(
  global: boolean | undefined,
  imports: ModuleMetadata['imports'],
  options: Provider,
): DynamicModule {
  return {
    module: DianaModule,
    global: global ?? true,
    imports: imports ?? [],
    providers: [options, coreProvider, limiterProvider, DianaGuard],
    exports: [DIANA_CORE, DIANA_LIMITER, DianaGuard],
  }
}

/**
 * Diana for NestJS: `DianaModule.forRoot({ rules, ... })` in the app module's `imports`, then
 * `DianaGuard` as `APP_GUARD` or on controllers. See docs/nestjs.md.
 */
// biome-ignore lint/complexity/noStaticOnlyClass: Nest's dynamic modules are classes with static forRoot
export class DianaModule {
  static forRoot(options: DianaNestOptions & DianaModuleSettings): DynamicModule {
    if (options === null || typeof options !== 'object') {
      throw new TypeError(`${WHERE}: DianaModule.forRoot expects an options object such as { rules: [...] }`)
    }
    const { global, ...diana } = options
    return dynamicModule(global, [], { provide: DIANA_OPTIONS, useValue: diana })
  }

  static forRootAsync(options: DianaModuleAsyncOptions): DynamicModule {
    if (options === null || typeof options !== 'object' || typeof options.useFactory !== 'function') {
      throw new TypeError(
        `${WHERE}: DianaModule.forRootAsync expects { useFactory, inject?, imports? }, e.g. { inject: [ConfigService], useFactory: (config) => ({ rules: ... }) }`,
      )
    }
    for (const key of Object.keys(options)) {
      if (!['global', 'imports', 'inject', 'useFactory'].includes(key)) {
        throw new TypeError(
          `${WHERE}: DianaModule.forRootAsync: unknown option "${key}" (known: useFactory, inject, imports, global); Diana's own options are what useFactory returns`,
        )
      }
    }
    return dynamicModule(options.global, options.imports, {
      provide: DIANA_OPTIONS,
      useFactory: options.useFactory,
      inject: options.inject ?? [],
    })
  }
}

// A module class of its own for Nest's scanner; everything else comes with the dynamic module.
Module({})(DianaModule)
