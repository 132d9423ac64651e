import { Injectable } from '@nestjs/common';
import { In, IsNull } from 'typeorm';
import { Database } from '../../database/database';
import { OidcModel } from '../entities/oidc-model.entity';

/**
 * The models issued under a grant, which the provider revokes with it (its memory adapter's
 * "grantable" ones). Not the Grant itself, which it destroys only when its revokeGrantPolicy
 * says so, and not an Interaction, which names the grant it may extend: a sign-out during a
 * sign-in (another user signing in at prompt=login) must not take the sign-in with it.
 */
const ISSUED_UNDER_GRANT = [
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
] as const;

/** What oidc-provider stores (oidc_models), for its adapter and for pruning. */
@Injectable()
export class OidcModelsRepository {
  constructor(private readonly database: Database) {}

  /** Inserts or replaces the model `kind`/`id` (the provider saves a model again as it changes). */
  async upsert(row: OidcModel): Promise<void> {
    await this.database.manager().getRepository(OidcModel).upsert(row, ['kind', 'id']);
  }

  find(kind: string, id: string): Promise<OidcModel | null> {
    return this.database.manager().getRepository(OidcModel).findOneBy({ kind, id });
  }

  findBy(kind: string, where: { uid: string } | { userCode: string }): Promise<OidcModel | null> {
    return this.database
      .manager()
      .getRepository(OidcModel)
      .findOneBy({ kind, ...where });
  }

  /** Marks a model used (codes are single-use); false when it was already consumed or is gone. */
  async consume(kind: string, id: string, now: Date): Promise<boolean> {
    const result = await this.database
      .manager()
      .update(OidcModel, { kind, id, consumedAt: IsNull() }, { consumedAt: now });
    return (result.affected ?? 0) > 0;
  }

  async destroy(kind: string, id: string): Promise<void> {
    await this.database.manager().delete(OidcModel, { kind, id });
  }

  /** The codes and tokens of one grant: a revoked grant takes them with it. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.database.manager().delete(OidcModel, { grantId, kind: In([...ISSUED_UNDER_GRANT]) });
  }

  /** How many models of `kind` are stored, expired or not. */
  count(kind: string): Promise<number> {
    return this.database.manager().getRepository(OidcModel).countBy({ kind });
  }
}
