import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { AuthModule } from '../auth/auth.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { OidcClientsModule } from './clients/oidc-clients.module';
import { InteractionController } from './interaction/interaction.controller';
import { OidcAccounts } from './provider/oidc-accounts';
import { OidcModelsRepository } from './provider/oidc-models.repository';
import { OidcProviderService } from './provider/oidc-provider.service';

/**
 * The OpenID Provider (SPEC §10): oidc-provider on our accounts, sessions and database, its
 * sign-in and consent pages, and (OidcClientsModule) the clients admins register.
 */
@Module({
  imports: [AuthModule, SessionsModule, UsersModule, AuditModule, OidcClientsModule],
  controllers: [InteractionController],
  providers: [OidcProviderService, OidcAccounts, OidcModelsRepository],
  exports: [OidcProviderService, OidcModelsRepository],
})
export class OidcModule {}
