import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { AuthStateCache } from './auth-state.cache';
import { AuthStateRepository } from './auth-state.repository';
import { AuthStateService } from './auth-state.service';
import { AuthStateSignals } from './auth-state.signals';

/**
 * The auth state the JWT guard checks on every request (user, roles, session), behind one
 * call: `AuthStateService.current`. Memory, its signals and the one query stay inside.
 */
@Module({
  providers: [
    {
      provide: AuthStateCache,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new AuthStateCache(config.authCache.ttlSeconds, config.authCache.maxEntries),
    },
    AuthStateRepository,
    AuthStateSignals,
    AuthStateService,
  ],
  exports: [AuthStateService, AuthStateSignals],
})
export class AuthStateModule {}
