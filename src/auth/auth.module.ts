import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthStateReader } from './auth-state.reader';
import { AuthService } from './auth.service';
import { JwksController } from './jwks.controller';
import { PasswordController } from './password.controller';
import { PasswordsModule } from './passwords/passwords.module';
import { SessionsModule } from './sessions/sessions.module';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';
import { AccessTokenService } from './tokens/access-token.service';

@Module({
  imports: [PasswordsModule, SessionsModule, UsersModule, AuditModule],
  controllers: [AuthController, PasswordController, JwksController],
  providers: [AuthService, AccessTokenService, AuthStateReader, LocalStrategy, JwtStrategy],
  exports: [AuthService, JwtStrategy],
})
export class AuthModule {}
