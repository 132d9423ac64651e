import { Global, Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, configFromEnvironment } from './app-config';

const APP_CONFIG_NAMESPACE = 'app';

/**
 * Loads `.env` (variables already in the environment win), validates everything once and
 * exposes the typed {@link AppConfig}. Tests override the `AppConfig` provider.
 */
@Global()
@Module({
  imports: [
    ConfigModule.forRoot({
      cache: true,
      load: [() => ({ [APP_CONFIG_NAMESPACE]: configFromEnvironment() })],
    }),
  ],
  providers: [
    {
      provide: AppConfig,
      inject: [ConfigService],
      useFactory: (config: ConfigService): AppConfig =>
        config.getOrThrow<AppConfig>(APP_CONFIG_NAMESPACE),
    },
  ],
  exports: [AppConfig],
})
export class AppConfigModule {}
