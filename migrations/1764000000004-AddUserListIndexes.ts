import { MigrationInterface, QueryRunner, TableIndex } from 'typeorm';

/** Indexes behind GET /users: sort by creation date, filter by role. */
export class AddUserListIndexes1764000000004 implements MigrationInterface {
  name = 'AddUserListIndexes1764000000004';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'users',
      new TableIndex({ name: 'IDX_users_created_at', columnNames: ['created_at', 'id'] }),
    );
    await queryRunner.createIndex(
      'users',
      new TableIndex({ name: 'IDX_users_is_active', columnNames: ['is_active'] }),
    );
    await queryRunner.createIndex(
      'users_to_roles',
      new TableIndex({ name: 'IDX_users_to_roles_role', columnNames: ['role_id', 'user_id'] }),
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('users_to_roles', 'IDX_users_to_roles_role');
    await queryRunner.dropIndex('users', 'IDX_users_is_active');
    await queryRunner.dropIndex('users', 'IDX_users_created_at');
  }
}
