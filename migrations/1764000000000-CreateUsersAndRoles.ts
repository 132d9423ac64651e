import { MigrationInterface, QueryRunner, Table } from 'typeorm';

export class CreateUsersAndRoles1764000000000 implements MigrationInterface {
  name = 'CreateUsersAndRoles1764000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    const timestamp = postgres ? 'timestamptz' : 'datetime';
    const uuid = postgres ? 'uuid' : 'varchar';
    const now = postgres ? 'now()' : "datetime('now')";

    await queryRunner.createTable(
      new Table({
        name: 'roles',
        columns: [
          {
            name: 'id',
            type: 'integer',
            isPrimary: true,
            isGenerated: true,
            generationStrategy: 'increment',
            primaryKeyConstraintName: 'PK_roles',
          },
          { name: 'name', type: 'varchar', length: '32' },
        ],
        indices: [{ name: 'UQ_roles_name', columnNames: ['name'], isUnique: true }],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'users',
        columns: [
          {
            name: 'id',
            type: uuid,
            isPrimary: true,
            primaryKeyConstraintName: 'PK_users',
            // SQLite has no UUID function; TypeORM generates the id there.
            ...(postgres ? { default: 'gen_random_uuid()' } : {}),
          },
          { name: 'username', type: 'varchar', length: '32' },
          { name: 'email', type: 'varchar', length: '254' },
          { name: 'password_hash', type: 'varchar', length: '255' },
          { name: 'is_active', type: 'boolean', default: postgres ? 'true' : '1' },
          { name: 'created_at', type: timestamp, default: now },
          { name: 'updated_at', type: timestamp, default: now },
        ],
        indices: [
          { name: 'UQ_users_username', columnNames: ['username'], isUnique: true },
          { name: 'UQ_users_email', columnNames: ['email'], isUnique: true },
        ],
        checks: [
          { name: 'CHK_users_username_canonical', expression: 'username = lower(username)' },
          { name: 'CHK_users_email_canonical', expression: 'email = lower(email)' },
        ],
      }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'users_to_roles',
        columns: [
          {
            name: 'user_id',
            type: uuid,
            isPrimary: true,
            primaryKeyConstraintName: 'PK_users_to_roles',
          },
          {
            name: 'role_id',
            type: 'integer',
            isPrimary: true,
            primaryKeyConstraintName: 'PK_users_to_roles',
          },
          { name: 'granted_at', type: timestamp, default: now },
        ],
        foreignKeys: [
          {
            name: 'FK_users_to_roles_user',
            columnNames: ['user_id'],
            referencedTableName: 'users',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
          {
            name: 'FK_users_to_roles_role',
            columnNames: ['role_id'],
            referencedTableName: 'roles',
            referencedColumnNames: ['id'],
            onDelete: 'CASCADE',
          },
        ],
      }),
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('users_to_roles');
    await queryRunner.dropTable('users');
    await queryRunner.dropTable('roles');
  }
}
