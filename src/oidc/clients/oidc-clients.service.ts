import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { DomainError } from '../../common/errors/domain-error';
import { ValidationFailedError } from '../../common/errors/validation-failed.error';
import type { RequestContext } from '../../common/request-context';
import { Transactions } from '../../database/database';
import type { OidcClient } from '../entities/oidc-client.entity';
import {
  type ClientRegistration,
  DEFAULT_REGISTRATION,
  hashClientSecret,
  registrationColumns,
  registrationOf,
  registrationProblems,
  responseTypesFor,
} from './client-metadata';
import { OidcClientsRepository } from './oidc-clients.repository';

// A client_id is public, but random (128 bits) rather than counted, so ids say nothing about
// other clients; a secret is 256 random bits, which is why SHA-256 suffices to store it.
const CLIENT_ID_BYTES = 16;
const CLIENT_SECRET_BYTES = 32;

/** A client, and the secret issued to it by this very call (shown once, stored hashed). */
export interface IssuedClient {
  client: OidcClient;
  secret?: string;
}

export type NewClientRegistration = Partial<ClientRegistration> & { client_name: string };

/**
 * Administration of the OpenID Provider's clients (SPEC §10; also `npm run cli -- oidc-clients`).
 * Every change is checked as a whole client (registrationProblems) and commits with its audit
 * event. A confidential client's secret is generated here, returned once and stored only as
 * its SHA-256; the audit log names the fields that changed, never a secret or its hash.
 */
@Injectable()
export class OidcClientsService {
  constructor(
    private readonly clients: OidcClientsRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  list(): Promise<OidcClient[]> {
    return this.clients.list();
  }

  async get(id: string): Promise<OidcClient> {
    const client = await this.clients.find(id);
    if (client === null) throw clientNotFound();
    return client;
  }

  /** `actorId`: the administrator, or null for the CLI. */
  async create(
    actorId: string | null,
    input: NewClientRegistration,
    context: RequestContext,
  ): Promise<IssuedClient> {
    const given = definedOnly(input);
    const registration: ClientRegistration = {
      ...DEFAULT_REGISTRATION,
      ...given,
      client_name: input.client_name,
    };
    if (given.response_types === undefined) {
      registration.response_types = responseTypesFor(registration.grant_types);
    }
    assertValid(registration);
    const secret = registration.token_endpoint_auth_method === 'none' ? undefined : newSecret();
    const now = this.clock.now();
    const client: OidcClient = {
      id: newClientId(),
      secretHash: secret === undefined ? null : hashClientSecret(secret),
      ...registrationColumns(registration),
      createdAt: now,
      updatedAt: now,
    };
    await this.transactions.run(async (tx) => {
      await this.clients.insert(tx, client);
      // Last in the transaction: the audit append holds a lock until commit.
      await this.audit.record(
        tx,
        {
          type: 'oidc.client_created',
          actorId,
          subjectUserId: null,
          details: {
            clientId: client.id,
            clientName: client.clientName,
            fields: Object.keys(given).sort(),
            via: via(actorId),
          },
        },
        context,
      );
    });
    return { client, secret };
  }

  /**
   * Changes the settings `changes` names; the others stay. Response types follow changed grants
   * unless given too. Becoming public (`none`) drops the secret; a public client becoming
   * confidential gets one, returned here once. A change that changes nothing records nothing.
   */
  async update(
    actorId: string | null,
    id: string,
    changes: Partial<ClientRegistration>,
    context: RequestContext,
  ): Promise<IssuedClient> {
    return this.transactions.run(async (tx) => {
      const stored = await this.clients.findForUpdate(tx, id);
      if (stored === null) throw clientNotFound();
      const before = registrationOf(stored);
      const given = definedOnly(changes);
      const after: ClientRegistration = { ...before, ...given };
      if (given.grant_types !== undefined && given.response_types === undefined) {
        after.response_types = responseTypesFor(after.grant_types);
      }
      assertValid(after);
      const changed = (Object.keys(after) as Array<keyof ClientRegistration>).filter(
        (field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]),
      );
      let secret: string | undefined;
      let secretHash = stored.secretHash;
      if (after.token_endpoint_auth_method === 'none') {
        secretHash = null;
      } else if (secretHash === null) {
        secret = newSecret();
        secretHash = hashClientSecret(secret);
      }
      if (changed.length === 0 && secretHash === stored.secretHash) return { client: stored };
      const columns = { ...registrationColumns(after), secretHash, updatedAt: this.clock.now() };
      await this.clients.update(tx, id, columns);
      await this.audit.record(
        tx,
        {
          type: 'oidc.client_updated',
          actorId,
          subjectUserId: null,
          details: {
            clientId: id,
            clientName: after.client_name,
            changes: changed.sort(),
            via: via(actorId),
          },
        },
        context,
      );
      return { client: { ...stored, ...columns }, secret };
    });
  }

  /**
   * Gives a confidential client a new secret, returned once; the old one stops working at
   * once (its hash is overwritten). 409 for a public client, which has none.
   */
  async rotateSecret(
    actorId: string | null,
    id: string,
    context: RequestContext,
  ): Promise<Required<IssuedClient>> {
    return this.transactions.run(async (tx) => {
      const stored = await this.clients.findForUpdate(tx, id);
      if (stored === null) throw clientNotFound();
      if (stored.tokenEndpointAuthMethod === 'none') {
        throw new DomainError(
          'conflict',
          'A public client (token_endpoint_auth_method none) has no secret to rotate',
        );
      }
      const secret = newSecret();
      const columns = { secretHash: hashClientSecret(secret), updatedAt: this.clock.now() };
      await this.clients.update(tx, id, columns);
      await this.audit.record(
        tx,
        {
          type: 'oidc.client_secret_rotated',
          actorId,
          subjectUserId: null,
          details: { clientId: id, clientName: stored.clientName, via: via(actorId) },
        },
        context,
      );
      return { client: { ...stored, ...columns }, secret };
    });
  }

  /**
   * Deletes a client and returns what it was. Its codes and tokens in oidc_models stay until
   * they expire: the provider refuses every one of them once the client is gone. A JWT for the
   * API it already holds is checked by the API's guard (its session), not here: it lasts until
   * it expires.
   */
  async remove(actorId: string | null, id: string, context: RequestContext): Promise<OidcClient> {
    return this.transactions.run(async (tx) => {
      const stored = await this.clients.findForUpdate(tx, id);
      if (stored === null || !(await this.clients.delete(tx, id))) throw clientNotFound();
      await this.audit.record(
        tx,
        {
          type: 'oidc.client_deleted',
          actorId,
          subjectUserId: null,
          details: { clientId: id, clientName: stored.clientName, via: via(actorId) },
        },
        context,
      );
      return stored;
    });
  }
}

function clientNotFound(): DomainError {
  return new DomainError('oidc_client_not_found', 'No such client');
}

/**
 * 16 random bytes, base64url, never starting with "-": an id is also typed on command lines
 * (`oidc-clients show --id <client_id>`), where a leading "-" reads as an option.
 */
function newClientId(): string {
  for (;;) {
    const id = randomBytes(CLIENT_ID_BYTES).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function newSecret(): string {
  return randomBytes(CLIENT_SECRET_BYTES).toString('base64url');
}

function via(actorId: string | null): 'cli' | 'api' {
  return actorId === null ? 'cli' : 'api';
}

/** A 400 naming each field the rules refuse (as the ValidationPipe answers for one value). */
function assertValid(registration: ClientRegistration): void {
  const problems = registrationProblems(registration);
  if (problems.length > 0) throw new ValidationFailedError(problems);
}

/** The members of `values` that were given: a DTO's fields left out may be own undefineds. */
function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
