import { MigrationInterface, QueryRunner } from 'typeorm';

const ROLES = ['ROLE_USER', 'ROLE_MODERATOR', 'ROLE_ADMIN'];

export class SeedRoles1764000000001 implements MigrationInterface {
  name = 'SeedRoles1764000000001';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.manager
      .createQueryBuilder()
      .insert()
      .into('roles', ['name'])
      .values(ROLES.map((name) => ({ name })))
      .execute();
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.manager
      .createQueryBuilder()
      .delete()
      .from('roles')
      .where('name IN (:...names)', { names: ROLES })
      .execute();
  }
}
