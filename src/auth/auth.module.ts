import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/app-config';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { PasswordsModule } from './passwords/passwords.module';
import { JwtStrategy } from './strategies/jwt.strategy';
import { LocalStrategy } from './strategies/local.strategy';
import { AccessTokenService } from './tokens/access-token.service';

@Module({
  imports: [
    PassportModule,
    PasswordsModule,
    UsersModule,
    JwtModule.registerAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // A KeyObject rather than a string: jsonwebtoken handles it much faster.
        secretOrKeyProvider: () => config.jwt.key,
        signOptions: { algorithm: config.jwt.algorithm },
        verifyOptions: { algorithms: [config.jwt.algorithm] },
      }),
    }),
  ],
  controllers: [AuthController],
  providers: [AuthService, AccessTokenService, LocalStrategy, JwtStrategy],
  exports: [AuthService],
})
export class AuthModule {}
