import { Module } from '@nestjs/common';
import { AuditModule } from '../../audit/audit.module';
import { OidcClientsController } from './oidc-clients.controller';
import { OidcClientsRepository } from './oidc-clients.repository';
import { OidcClientsService } from './oidc-clients.service';

/**
 * The registered relying parties: their storage (the provider reads it) and their
 * administration (the admin routes and the CLI, through OidcClientsService).
 */
@Module({
  imports: [AuditModule],
  controllers: [OidcClientsController],
  providers: [OidcClientsRepository, OidcClientsService],
  exports: [OidcClientsRepository, OidcClientsService],
})
export class OidcClientsModule {}
