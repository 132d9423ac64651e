import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** Consecutive failed logins and the temporary lock they lead to. */
export class AddAccountLockout1764000000005 implements MigrationInterface {
  name = 'AddAccountLockout1764000000005';

  public async up(queryRunner: QueryRunner): Promise<void> {
    const postgres = queryRunner.connection.driver.options.type === 'postgres';
    await queryRunner.addColumns('users', [
      new TableColumn({ name: 'failed_login_count', type: 'integer', default: 0 }),
      new TableColumn({
        name: 'locked_until',
        type: postgres ? 'timestamptz' : 'datetime',
        isNullable: true,
      }),
    ]);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('users', 'locked_until');
    await queryRunner.dropColumn('users', 'failed_login_count');
  }
}
