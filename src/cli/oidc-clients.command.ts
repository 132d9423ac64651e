import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { DomainError, type FieldError } from '../common/errors/domain-error';
import { ValidationFailedError } from '../common/errors/validation-failed.error';
import { NO_REQUEST_CONTEXT } from '../common/request-context';
import { CreateOidcClientDto } from '../oidc/clients/dto/oidc-client-request.dto';
import { toOidcClientResponse } from '../oidc/clients/dto/oidc-client-response.dto';
import { OidcClientsService } from '../oidc/clients/oidc-clients.service';
import type { OidcClient } from '../oidc/entities/oidc-client.entity';
import type { CliCommand } from './cli-args';
import { cliContext } from './cli-context';
import { CliError } from './cli-error';
import { OidcClientsCliModule } from './oidc-clients-cli.module';

type OidcClientsCommand = Extract<CliCommand, { name: 'oidc-clients' }>;

/**
 * `oidc-clients <action>`: what the admin routes under /oidc-clients do, with the same
 * validation (the request DTO, then the service's rules) and audit events without an actor.
 */
export async function oidcClients(command: OidcClientsCommand): Promise<void> {
  const writes = command.action !== 'list' && command.action !== 'show';
  const app = await cliContext(OidcClientsCliModule, { writes });
  try {
    const clients = app.get(OidcClientsService);
    try {
      switch (command.action) {
        case 'create': {
          const { client, secret } = await clients.create(
            null,
            validCreation(command.client),
            NO_REQUEST_CONTEXT,
          );
          console.log(`Created client "${client.clientName}" (${kindOf(client)})`);
          console.log(`client_id: ${client.id}`);
          if (secret !== undefined) {
            console.log(`client_secret: ${secret}`);
            console.log('Store the secret now: it is not shown again (only its hash is kept).');
          }
          return;
        }
        case 'list': {
          const all = await clients.list();
          if (all.length === 0) console.log('No clients');
          for (const client of all) console.log(line(client));
          return;
        }
        case 'show':
          console.log(JSON.stringify(toOidcClientResponse(await clients.get(command.id)), null, 2));
          return;
        case 'rotate-secret': {
          const { client, secret } = await clients.rotateSecret(
            null,
            command.id,
            NO_REQUEST_CONTEXT,
          );
          console.log(`New secret of client ${client.id} "${client.clientName}":`);
          console.log(`client_secret: ${secret}`);
          console.log('The old secret no longer works; this one is not shown again.');
          return;
        }
        case 'delete': {
          const client = await clients.remove(null, command.id, NO_REQUEST_CONTEXT);
          console.log(`Deleted client ${client.id} "${client.clientName}"`);
          return;
        }
      }
    } catch (error) {
      throw asCliError(error, command, writes);
    }
  } finally {
    await app.close();
  }
}

/** The options as POST /oidc-clients would take them, or the problems it would answer. */
function validCreation(options: object): CreateOidcClientDto {
  const dto = plainToInstance(CreateOidcClientDto, options);
  const errors = validateSync(dto, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) throw ValidationFailedError.fromValidationErrors(errors);
  return dto;
}

function kindOf(client: OidcClient): string {
  return client.secretHash === null
    ? 'public, no secret'
    : `confidential, ${client.tokenEndpointAuthMethod}`;
}

/** One client per line: id, name, authentication method, grants, redirect URIs. */
function line(client: OidcClient): string {
  const { client_id, client_name, token_endpoint_auth_method, grant_types, redirect_uris } =
    toOidcClientResponse(client);
  return [
    client_id,
    client_name,
    token_endpoint_auth_method,
    grant_types.join(','),
    redirect_uris.join(' ') || '-',
  ].join('  ');
}

function asCliError(error: unknown, command: OidcClientsCommand, writes: boolean): unknown {
  const unchanged = writes ? '; nothing was changed' : '';
  if (error instanceof ValidationFailedError) {
    const problems = error.errors.map(({ field, message }: FieldError) => `  ${field}: ${message}`);
    return new CliError(`Error: the client is invalid${unchanged}\n${problems.join('\n')}`, 1);
  }
  if (error instanceof DomainError) {
    const message =
      error.code === 'oidc_client_not_found' && 'id' in command
        ? `no client "${command.id}"`
        : error.message;
    return new CliError(`Error: ${message}${unchanged}`, 1);
  }
  return error;
}
