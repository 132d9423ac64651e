import { MigrationInterface, QueryRunner, Table, TableColumn } from 'typeorm';

export class CreateSessions1764000000002 implements MigrationInterface {
  name = 'CreateSessions1764000000002';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    const timestamp = postgres ? 'timestamptz' : 'datetime';
    const uuid = postgres ? 'uuid' : 'varchar';
    const now = postgres ? 'now()' : "datetime('now')";

    await queryRunner.addColumn(
      'users',
      new TableColumn({ name: 'password_changed_at', type: timestamp, isNullable: true }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { name: 'id', type: uuid, isPrimary: true, primaryKeyConstraintName: 'PK_sessions' },
          { name: 'user_id', type: uuid },
          { name: 'created_at', type: timestamp, default: now },
          { name: 'last_used_at', type: timestamp },
          { name: 'idle_expires_at', type: timestamp },
          { name: 'absolute_expires_at', type: timestamp },
          { name: 'revoked_at', type: timestamp, isNullable: true },
          { name: 'revoke_reason', type: 'varchar', length: '32', isNullable: true },
          { name: 'user_agent', type: 'varchar', length: '512', isNullable: true },
          { name: 'ip', type: 'varchar', length: '64', isNullable: true },
        ],
        indices: [{ name: 'IDX_sessions_user', columnNames: ['user_id'] }],
        foreignKeys: [
          {
            name: 'FK_sessions_user',
            columnNames: ['user_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'refresh_tokens',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            primaryKeyConstraintName: 'PK_refresh_tokens',
          },
          { name: 'session_id', type: uuid },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'parent_id', type: uuid, isNullable: true },
          { name: 'created_at', type: timestamp, default: now },
          { name: 'rotated_at', type: timestamp, isNullable: true },
        ],
        indices: [
          { name: 'UQ_refresh_tokens_hash', columnNames: ['token_hash'], isUnique: true },
          { name: 'IDX_refresh_tokens_session', columnNames: ['session_id'] },
        ],
        foreignKeys: [
          {
            name: 'FK_refresh_tokens_session',
            columnNames: ['session_id'],
            referencedTableName: 'sessions',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('refresh_tokens');
    await queryRunner.dropTable('sessions');
    await queryRunner.dropColumn('users', 'password_changed_at');
  }
}
