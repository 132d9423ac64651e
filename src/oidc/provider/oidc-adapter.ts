import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import type { Clock } from '../../common/clock/clock';
import { clientMetadata } from '../clients/client-metadata';
import type { OidcClientsRepository } from '../clients/oidc-clients.repository';
import { OidcModel } from '../entities/oidc-model.entity';
import type { OidcModelsRepository } from './oidc-models.repository';

/**
 * oidc-provider's storage on our database (both SQLite and PostgreSQL), one adapter instance per
 * model name. Clients are read from oidc_clients (admins write them, the provider never does);
 * every other model is a row of oidc_models. Expiry is judged by the injected Clock, so a test
 * can let a code expire without waiting.
 */
export function adapterFactory(
  models: OidcModelsRepository,
  clients: OidcClientsRepository,
  clock: Clock,
): (name: string) => Adapter {
  return (name) =>
    name === 'Client' ? new ClientAdapter(clients) : new ModelAdapter(name, models, clock);
}

class ModelAdapter implements Adapter {
  constructor(
    private readonly kind: string,
    private readonly models: OidcModelsRepository,
    private readonly clock: Clock,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const now = this.clock.now();
    await this.models.upsert(
      Object.assign(new OidcModel(), {
        kind: this.kind,
        id,
        payload: JSON.stringify(payload),
        grantId: payload.grantId ?? null,
        uid: payload.uid ?? null,
        userCode: payload.userCode ?? null,
        expiresAt: expiresIn > 0 ? new Date(now.getTime() + expiresIn * 1000) : null,
        consumedAt: null,
      }),
    );
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storable(id)) return undefined;
    return this.live(await this.models.find(this.kind, id));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    if (!storable(uid)) return undefined;
    return this.live(await this.models.findBy(this.kind, { uid }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    if (!storable(userCode)) return undefined;
    return this.live(await this.models.findBy(this.kind, { userCode }));
  }

  /**
   * Marks a code or token used, atomically: of concurrent redemptions only the one whose update
   * found it unused goes on; the others are invalid_grant (the provider checked `consumed`
   * before, but both may have read it unset).
   */
  async consume(id: string): Promise<void> {
    if (!(await this.models.consume(this.kind, id, this.clock.now()))) {
      throw new errors.InvalidGrant('grant request is invalid');
    }
  }

  async destroy(id: string): Promise<void> {
    await this.models.destroy(this.kind, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.models.revokeByGrantId(grantId);
  }

  private live(row: OidcModel | null): AdapterPayload | undefined {
    if (row === null) return undefined;
    if (row.expiresAt !== null && row.expiresAt.getTime() <= this.clock.now().getTime()) {
      return undefined;
    }
    const payload = JSON.parse(row.payload) as AdapterPayload;
    return row.consumedAt === null
      ? payload
      : { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) };
  }
}

/**
 * Whether `value` (a client id, token or code as the caller sent it) can name a stored row:
 * PostgreSQL refuses a NUL in text, and the failed query would be a 500 anyone can cause.
 */
function storable(value: string): boolean {
  return !value.includes('\0');
}

/** Clients come from what admins registered (src/oidc/clients); the provider only reads them. */
class ClientAdapter implements Adapter {
  constructor(private readonly clients: OidcClientsRepository) {}

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (!storable(id)) return undefined;
    const client = await this.clients.find(id);
    return client === null ? undefined : clientMetadata(client);
  }

  upsert(): Promise<void> {
    return Promise.reject(new Error('OIDC clients are managed through /api/v1/oidc-clients'));
  }

  destroy(): Promise<void> {
    return Promise.reject(new Error('OIDC clients are managed through /api/v1/oidc-clients'));
  }

  findByUid(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  findByUserCode(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  consume(): Promise<void> {
    return Promise.resolve();
  }

  revokeByGrantId(): Promise<void> {
    return Promise.resolve();
  }
}
