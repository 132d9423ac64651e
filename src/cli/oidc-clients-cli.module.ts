import { Module } from '@nestjs/common';
import { OidcClientsModule } from '../oidc/clients/oidc-clients.module';
import { CliModule } from './cli.module';

/** The CLI with the administration of the OpenID Provider's clients (`oidc-clients`). */
@Module({ imports: [CliModule, OidcClientsModule] })
export class OidcClientsCliModule {}
