import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AccountLifecycleModule } from '../account-lifecycle/account-lifecycle.module';
import { AppConfig } from '../config/app-config';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthStateModule } from './auth-state/auth-state.module';
import { AuthService } from './auth.service';
import { JwksController } from './jwks.controller';
import { PasswordController } from './password.controller';
import { PasswordsModule } from '../passwords/passwords.module';
import { SessionsModule } from '../sessions/sessions.module';
import { MfaModule } from '../mfa/mfa.module';
import { MfaLoginController } from './mfa/mfa-login.controller';
import { PasskeyLoginController } from './mfa/passkey-login.controller';
import { SecondFactorSignIn } from './mfa/second-factor-sign-in.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';
import { AccessTokenService } from './tokens/access-token.service';
import { jwtModuleOptions } from './tokens/jwt-options';

@Module({
  imports: [
    AccountLifecycleModule,
    PasswordsModule,
    SessionsModule,
    UsersModule,
    AuditModule,
    AuthStateModule,
    MfaModule,
    JwtModule.registerAsync({ inject: [AppConfig], useFactory: jwtModuleOptions }),
  ],
  controllers: [
    AuthController,
    PasswordController,
    JwksController,
    MfaLoginController,
    PasskeyLoginController,
  ],
  providers: [AuthService, AccessTokenService, LocalStrategy, JwtStrategy, SecondFactorSignIn],
  exports: [AuthService, JwtStrategy, AuthStateModule, SecondFactorSignIn],
})
export class AuthModule {}
