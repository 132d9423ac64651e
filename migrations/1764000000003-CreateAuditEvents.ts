import { MigrationInterface, QueryRunner, Table } from 'typeorm';

export class CreateAuditEvents1764000000003 implements MigrationInterface {
  name = 'CreateAuditEvents1764000000003';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    const timestamp = postgres ? 'timestamptz' : 'datetime';
    const uuid = postgres ? 'uuid' : 'varchar';

    // No foreign keys on actor_id / subject_user_id: events must survive the users they name.
    await queryRunner.createTable(
      new Table({
        name: 'audit_events',
        columns: [
          { name: 'id', type: uuid, isPrimary: true, primaryKeyConstraintName: 'PK_audit_events' },
          { name: 'sequence', type: 'bigint' },
          { name: 'occurred_at', type: timestamp },
          { name: 'type', type: 'varchar', length: '64' },
          { name: 'actor_id', type: uuid, isNullable: true },
          { name: 'subject_user_id', type: uuid, isNullable: true },
          { name: 'ip', type: 'varchar', length: '64', isNullable: true },
          { name: 'user_agent', type: 'varchar', length: '512', isNullable: true },
          { name: 'request_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'details', type: 'text' },
          { name: 'prev_hash', type: 'varchar', length: '64' },
          { name: 'hash', type: 'varchar', length: '64' },
        ],
        indices: [
          { name: 'UQ_audit_events_sequence', columnNames: ['sequence'], isUnique: true },
          { name: 'UQ_audit_events_hash', columnNames: ['hash'], isUnique: true },
          { name: 'IDX_audit_events_type_occurred_at', columnNames: ['type', 'occurred_at'] },
          {
            name: 'IDX_audit_events_subject_occurred_at',
            columnNames: ['subject_user_id', 'occurred_at'],
          },
          { name: 'IDX_audit_events_actor_occurred_at', columnNames: ['actor_id', 'occurred_at'] },
          { name: 'IDX_audit_events_occurred_at', columnNames: ['occurred_at'] },
        ],
      }),
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('audit_events');
  }
}
