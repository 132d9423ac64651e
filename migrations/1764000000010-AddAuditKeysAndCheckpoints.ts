import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

/**
 * The keyed audit chain and its retention (docs/decisions.md, "Keyed audit chain"):
 * `audit_events.key_id` names the AUDIT_KEY an event's MAC was made with (null: an event from
 * before this migration, chained with plain SHA-256), and `audit_checkpoints` holds the signed
 * checkpoint of the pruned prefix (one row, the newest; no entity: only raw SQL in
 * AuditService and RetentionService reads or writes it).
 */
export class AddAuditKeysAndCheckpoints1764000000010 implements MigrationInterface {
  name = 'AddAuditKeysAndCheckpoints1764000000010';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    const timestamp = postgres ? 'timestamptz' : 'datetime';
    await queryRunner.addColumn(
      'audit_events',
      new TableColumn({ name: 'key_id', type: 'varchar', length: '16', isNullable: true }),
    );
    await queryRunner.createTable(
      new Table({
        name: 'audit_checkpoints',
        columns: [
          {
            name: 'through_sequence',
            type: 'bigint',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_audit_checkpoints',
          },
          { name: 'through_hash', type: 'varchar', length: '64' },
          // The key id of the last pruned event (null: legacy), so no unkeyed event may follow.
          { name: 'through_key_id', type: 'varchar', length: '16', isNullable: true },
          { name: 'pruned_count', type: 'bigint' },
          { name: 'created_at', type: timestamp },
          { name: 'key_id', type: 'varchar', length: '16' },
          { name: 'mac', type: 'varchar', length: '64' },
        ],
      }),
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_checkpoints');
    await queryRunner.dropColumn('audit_events', 'key_id');
  }
}
