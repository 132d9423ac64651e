import { Global, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { AppConfig, configFromEnvironment } from './app-config';

const APP_CONFIG_NAMESPACE = 'app';

/** Says at every boot which insecure settings production was told to accept. */
@Injectable()
export class ConfigurationWarnings implements OnApplicationBootstrap {
  private readonly logger = new Logger('Configuration');

  constructor(private readonly config: AppConfig) {}

  onApplicationBootstrap(): void {
    for (const warning of this.config.warnings) this.logger.warn(warning);
  }
}

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
    ConfigurationWarnings,
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
