import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { PasswordCheck } from './password-check.service';
import { PasswordsModule } from '../passwords/passwords.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersController } from './users.controller';
import { UserManagementService } from './user-management.service';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';
import { LockoutService } from './lockout.service';

@Module({
  imports: [PasswordsModule, SessionsModule, AuditModule],
  controllers: [UsersController],
  // PasswordCheck reads accounts through UsersService: provided here, used by AuthModule too.
  providers: [UsersRepository, UsersService, UserManagementService, PasswordCheck, LockoutService],
  exports: [UsersService, PasswordCheck],
})
export class UsersModule {}
