import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * PostgreSQL: `identity_audit_chain_head(lock_key)` takes the audit chain's transaction-level
 * advisory lock and then returns the chain's last event (sequence and hash), in one round trip
 * instead of two. It is VOLATILE, so its query takes a snapshot after the lock is granted and
 * sees the event of the transaction that held the lock before (a single statement that took
 * the lock and read would read with the snapshot taken before it waited). Nothing on SQLite,
 * where one connection serialises every write.
 */
export class AddAuditChainHead1764000000007 implements MigrationInterface {
  name = 'AddAuditChainHead1764000000007';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'postgres') return;
    await queryRunner.query(`
      CREATE FUNCTION "identity_audit_chain_head"(lock_key bigint)
      RETURNS TABLE (last_sequence bigint, last_hash varchar)
      LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(lock_key);
        RETURN QUERY
          SELECT e.sequence, e.hash FROM audit_events e ORDER BY e.sequence DESC LIMIT 1;
      END
      $$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type !== 'postgres') return;
    await queryRunner.query(`DROP FUNCTION "identity_audit_chain_head"(bigint)`);
  }
}
