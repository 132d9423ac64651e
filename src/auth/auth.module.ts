import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { JwksController } from './jwks.controller';
import { PasswordController } from './password.controller';
import { PasswordsModule } from './passwords/passwords.module';
import { SessionsController } from './sessions/sessions.controller';
import { SessionsService } from './sessions/sessions.service';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';
import { AccessTokenService } from './tokens/access-token.service';

@Module({
  imports: [PassportModule, PasswordsModule, UsersModule],
  controllers: [AuthController, SessionsController, PasswordController, JwksController],
  providers: [AuthService, SessionsService, AccessTokenService, LocalStrategy, JwtStrategy],
  exports: [AuthService, SessionsService],
})
export class AuthModule {}
