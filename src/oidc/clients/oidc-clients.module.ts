import { Module } from '@nestjs/common';
import { OidcClientsRepository } from './oidc-clients.repository';

/** The registered relying parties: their storage (the provider reads it; admins manage it). */
@Module({
  providers: [OidcClientsRepository],
  exports: [OidcClientsRepository],
})
export class OidcClientsModule {}
