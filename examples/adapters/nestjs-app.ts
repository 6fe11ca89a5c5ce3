import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  Controller,
  type ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  Module,
  Param,
  Post,
} from '@nestjs/common'
import { APP_GUARD, BaseExceptionFilter, HttpAdapterHost, NestFactory } from '@nestjs/core'
import {
  DianaGuard,
  DianaModule,
  RateLimit,
  RateLimitExceededException,
  SkipRateLimit,
} from 'diana-limiter/nestjs'

interface AuthenticatedRequest {
  headers: Record<string, string | undefined>
  user?: { id: string }
}

// Stand-in for real authentication (a session, a verified JWT): the account must come from
// something the server has checked, never from a header the client could set to anything.
const accounts = new Map([['token-alice', 'alice']])

@Injectable()
class AuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>()
    const account = accounts.get(req.headers.authorization?.replace(/^Bearer /, '') ?? '')
    if (account !== undefined) req.user = { id: account }
    return true
  }
}

// Settings from the environment, as @nestjs/config's ConfigService would give them.
@Injectable()
class AppConfig {
  get(name: string, fallback: number): number {
    return Number(process.env[name] ?? fallback)
  }
}

@Module({ providers: [AppConfig], exports: [AppConfig] })
class AppConfigModule {}

@Controller()
class HealthController {
  @Get('health')
  @SkipRateLimit()
  health() {
    return 'ok'
  }
}

@Controller('api')
class ShopController {
  @Get('items/:id')
  item(@Param('id') id: string) {
    return { id }
  }

  // This route adds its own rule to the module's: a queue that lets 10 buys a second
  // through, 5 waiting. All rules are decided together: a denial takes nothing from any.
  @Post('seckill/:sku')
  @HttpCode(200)
  @RateLimit([
    { name: 'seckill', dimension: 'resource', algorithm: 'leaky-bucket', limit: 10, window: '1s', burst: 5 },
  ])
  buy(@Param('sku') sku: string) {
    return { sku, bought: true }
  }
}

// Denials reach Nest's exception filters: this one notes them, then answers as Nest would
// (the problem+json body Diana made, with its headers).
@Catch(RateLimitExceededException)
class RateLimitLog extends BaseExceptionFilter {
  override catch(exception: RateLimitExceededException, host: ArgumentsHost) {
    console.log(`rate limited by ${exception.getResponse().rule}`)
    super.catch(exception, host)
  }
}

@Module({
  imports: [
    DianaModule.forRootAsync({
      imports: [AppConfigModule],
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        rules: [
          { name: 'device', dimension: 'device', algorithm: 'fixed-window', limit: 20, window: '10s' },
          {
            name: 'account',
            dimension: 'account',
            algorithm: 'sliding-window',
            limit: config.get('ACCOUNT_LIMIT', 100),
            window: '1m',
          },
        ],
        // The user the AuthGuard found: it runs first, as it is provided first.
        identify: (req: AuthenticatedRequest) => req.user?.id,
      }),
    }),
  ],
  controllers: [HealthController, ShopController],
  providers: [
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_GUARD, useClass: DianaGuard },
  ],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
// Behind a reverse proxy, let Express read the client address from it (X-Forwarded-For is
// ignored otherwise, so clients cannot pick their own address):
// app.set('trust proxy', 1)   (with NestFactory.create<NestExpressApplication>)
app.useGlobalFilters(new RateLimitLog(app.get(HttpAdapterHost).httpAdapter))
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1')
console.log(`listening on ${await app.getUrl()}`)
