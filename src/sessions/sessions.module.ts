import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { SessionsController } from './sessions.controller';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';

/** Sessions and refresh tokens; used by auth (login, refresh) and by user administration. */
@Module({
  imports: [AuditModule],
  controllers: [SessionsController],
  providers: [SessionsRepository, SessionsService],
  exports: [SessionsService],
})
export class SessionsModule {}
