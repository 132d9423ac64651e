import { Injectable } from '@nestjs/common';
import { Database, type Transaction } from '../../database/database';
import { OidcClient } from '../entities/oidc-client.entity';

/** The registered relying parties (oidc_clients). */
@Injectable()
export class OidcClientsRepository {
  constructor(private readonly database: Database) {}

  find(id: string): Promise<OidcClient | null> {
    return this.database.manager().getRepository(OidcClient).findOneBy({ id });
  }

  /** Every client, oldest first. */
  list(): Promise<OidcClient[]> {
    return this.database
      .manager()
      .getRepository(OidcClient)
      .find({ order: { createdAt: 'ASC', id: 'ASC' } });
  }

  async insert(tx: Transaction, client: OidcClient): Promise<void> {
    await this.database.manager(tx).insert(OidcClient, client);
  }

  /** Saves the changed columns of `client`; false when it is gone. */
  async update(tx: Transaction, id: string, changes: Partial<OidcClient>): Promise<boolean> {
    const result = await this.database.manager(tx).update(OidcClient, { id }, changes);
    return (result.affected ?? 0) > 0;
  }

  async delete(tx: Transaction, id: string): Promise<boolean> {
    const result = await this.database.manager(tx).delete(OidcClient, { id });
    return (result.affected ?? 0) > 0;
  }
}
