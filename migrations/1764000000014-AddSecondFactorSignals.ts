import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The auth-state cache also keeps which second factors an account has (GET /users/me shows
 * them on every request): enrolling or removing one is announced like a role grant. A TOTP
 * factor counts once confirmed, a passkey once stored; the updates every use makes (the last
 * used step, the signature counter) announce nothing. docs/decisions.md, "Auth-state cache".
 */
export class AddSecondFactorSignals1764000000014 implements MigrationInterface {
  name = 'AddSecondFactorSignals1764000000014';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      const notify = `FOR EACH ROW EXECUTE FUNCTION "auth_state_notify"('u', 'user_id')`;
      await queryRunner.query(
        `CREATE TRIGGER "TRG_mfa_totp_factors_auth_state" AFTER INSERT OR DELETE ON "mfa_totp_factors" ${notify}`,
      );
      await queryRunner.query(`
        CREATE TRIGGER "TRG_mfa_totp_factors_auth_state_update" AFTER UPDATE ON "mfa_totp_factors"
        FOR EACH ROW WHEN (OLD."confirmed_at" IS DISTINCT FROM NEW."confirmed_at"
          OR OLD."user_id" IS DISTINCT FROM NEW."user_id")
        EXECUTE FUNCTION "auth_state_notify"('u', 'user_id')`);
      await queryRunner.query(
        `CREATE TRIGGER "TRG_webauthn_credentials_auth_state" AFTER INSERT OR DELETE ON "webauthn_credentials" ${notify}`,
      );
      for (const [trigger, table] of TRUNCATE_TRIGGERS) {
        await queryRunner.query(
          `CREATE TRIGGER "${trigger}" AFTER TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "auth_state_notify_all"()`,
        );
      }
    } else {
      const bump = `BEGIN UPDATE "auth_state_version" SET "version" = "version" + 1 WHERE "id" = 1; END`;
      for (const [trigger, table] of SQLITE_ROW_TRIGGERS) {
        const event = trigger.endsWith('_insert') ? 'INSERT' : 'DELETE';
        await queryRunner.query(`CREATE TRIGGER "${trigger}" AFTER ${event} ON "${table}" ${bump}`);
      }
      await queryRunner.query(`
        CREATE TRIGGER "TRG_mfa_totp_factors_auth_state_update" AFTER UPDATE ON "mfa_totp_factors"
        WHEN OLD."confirmed_at" IS NOT NEW."confirmed_at" OR OLD."user_id" IS NOT NEW."user_id"
        ${bump}`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      for (const [trigger, table] of TRUNCATE_TRIGGERS) {
        await queryRunner.query(`DROP TRIGGER "${trigger}" ON "${table}"`);
      }
      await queryRunner.query(
        `DROP TRIGGER "TRG_webauthn_credentials_auth_state" ON "webauthn_credentials"`,
      );
      await queryRunner.query(
        `DROP TRIGGER "TRG_mfa_totp_factors_auth_state_update" ON "mfa_totp_factors"`,
      );
      await queryRunner.query(
        `DROP TRIGGER "TRG_mfa_totp_factors_auth_state" ON "mfa_totp_factors"`,
      );
    } else {
      await queryRunner.query(`DROP TRIGGER "TRG_mfa_totp_factors_auth_state_update"`);
      for (const [trigger] of SQLITE_ROW_TRIGGERS) {
        await queryRunner.query(`DROP TRIGGER "${trigger}"`);
      }
    }
  }
}

const TRUNCATE_TRIGGERS: ReadonlyArray<readonly [string, string]> = [
  ['TRG_mfa_totp_factors_auth_state_truncate', 'mfa_totp_factors'],
  ['TRG_webauthn_credentials_auth_state_truncate', 'webauthn_credentials'],
];

const SQLITE_ROW_TRIGGERS: ReadonlyArray<readonly [string, string]> = [
  ['TRG_mfa_totp_factors_auth_state_insert', 'mfa_totp_factors'],
  ['TRG_mfa_totp_factors_auth_state_delete', 'mfa_totp_factors'],
  ['TRG_webauthn_credentials_auth_state_insert', 'webauthn_credentials'],
  ['TRG_webauthn_credentials_auth_state_delete', 'webauthn_credentials'],
];
