import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from '../config/app-config';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthStateCache } from './auth-state.cache';
import { AuthStateReader } from './auth-state.reader';
import { AuthStateSignals } from './auth-state.signals';
import { AuthService } from './auth.service';
import { JwksController } from './jwks.controller';
import { PasswordController } from './password.controller';
import { PasswordsModule } from '../passwords/passwords.module';
import { SessionsModule } from '../sessions/sessions.module';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';
import { AccessTokenService } from './tokens/access-token.service';
import { jwtModuleOptions } from './tokens/jwt-options';

@Module({
  imports: [
    PasswordsModule,
    SessionsModule,
    UsersModule,
    AuditModule,
    JwtModule.registerAsync({ inject: [AppConfig], useFactory: jwtModuleOptions }),
  ],
  controllers: [AuthController, PasswordController, JwksController],
  providers: [
    AuthService,
    AccessTokenService,
    {
      provide: AuthStateCache,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new AuthStateCache(config.authCache.ttlSeconds, config.authCache.maxEntries),
    },
    AuthStateSignals,
    AuthStateReader,
    LocalStrategy,
    JwtStrategy,
  ],
  exports: [AuthService, JwtStrategy, AuthStateSignals],
})
export class AuthModule {}
