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

  /**
   * The client, read in `tx` for a change that depends on what it holds: locked until commit
   * on PostgreSQL, so two concurrent changes are applied one after the other (SQLite runs
   * transactions one at a time anyway).
   */
  findForUpdate(tx: Transaction, id: string): Promise<OidcClient | null> {
    const query = this.database
      .manager(tx)
      .getRepository(OidcClient)
      .createQueryBuilder('client')
      .where('client.id = :id', { id });
    return (
      this.database.dialect === 'postgres' ? query.setLock('pessimistic_write') : query
    ).getOne();
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
