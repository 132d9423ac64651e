import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { PasswordCheck } from './password-check.service';
import { PasswordsModule } from '../passwords/passwords.module';
import { UsersController } from './users.controller';
import { UserManagementService } from './user-management.service';
import { UsersRepository } from './users.repository';
import { UsersService } from './users.service';
import { AccountEvents } from './account-events';
import { LockoutService } from './lockout.service';

@Module({
  imports: [PasswordsModule, AuditModule],
  controllers: [UsersController],
  // PasswordCheck reads accounts through UsersService: provided here, used by AuthModule too.
  providers: [
    UsersRepository,
    UsersService,
    UserManagementService,
    PasswordCheck,
    LockoutService,
    AccountEvents,
  ],
  exports: [UsersService, UserManagementService, PasswordCheck, AccountEvents, LockoutService],
})
export class UsersModule {}
