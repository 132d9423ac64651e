import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AbuseModule } from '../abuse/abuse.module';
import { AuditModule } from '../audit/audit.module';
import { PasswordCheck } from './password-check.service';
import { PasswordsModule } from '../passwords/passwords.module';
import { SessionsModule } from '../sessions/sessions.module';
import { Role } from './entities/role.entity';
import { UserRole } from './entities/user-role.entity';
import { User } from './entities/user.entity';
import { UsersController } from './users.controller';
import { UserManagementService } from './user-management.service';
import { UsersService } from './users.service';
import { LockoutService } from './lockout.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([User, Role, UserRole]),
    PasswordsModule,
    SessionsModule,
    AuditModule,
    AbuseModule,
  ],
  controllers: [UsersController],
  // PasswordCheck reads accounts through UsersService: provided here, used by AuthModule too.
  providers: [UsersService, UserManagementService, PasswordCheck, LockoutService],
  exports: [UsersService, PasswordCheck],
})
export class UsersModule {}
