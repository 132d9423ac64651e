import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two changes the triggers of 1764000000006 did not announce (docs/decisions.md, "Auth-state
 * cache: heartbeat, bound and the missing triggers"):
 * - a session's idle expiry moved earlier (an operator shortening `idle_expires_at`; a refresh
 *   only moves it later, which needs no announcement: an old copy is then only too strict);
 * - PostgreSQL: TRUNCATE of users, sessions, users_to_roles or roles, which fires no row
 *   trigger. A statement-level trigger notifies `*` (drop everything). SQLite has no TRUNCATE
 *   (its `DELETE FROM t` fires the row triggers of 1764000000006).
 */
export class AddAuthStateIdleAndTruncateSignals1764000000009 implements MigrationInterface {
  name = 'AddAuthStateIdleAndTruncateSignals1764000000009';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      await queryRunner.query(`
        CREATE TRIGGER "TRG_sessions_auth_state_idle" AFTER UPDATE OF "idle_expires_at" ON "sessions"
        FOR EACH ROW WHEN (NEW."idle_expires_at" < OLD."idle_expires_at")
        EXECUTE FUNCTION "auth_state_notify"('s', 'id')`);
      for (const [trigger, table] of TRUNCATE_TRIGGERS) {
        await queryRunner.query(
          `CREATE TRIGGER "${trigger}" AFTER TRUNCATE ON "${table}" FOR EACH STATEMENT EXECUTE FUNCTION "auth_state_notify_all"()`,
        );
      }
    } else {
      await queryRunner.query(`
        CREATE TRIGGER "TRG_sessions_auth_state_idle" AFTER UPDATE OF "idle_expires_at" ON "sessions"
        WHEN NEW."idle_expires_at" < OLD."idle_expires_at"
        BEGIN UPDATE "auth_state_version" SET "version" = "version" + 1 WHERE "id" = 1; END`);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      for (const [trigger, table] of TRUNCATE_TRIGGERS) {
        await queryRunner.query(`DROP TRIGGER "${trigger}" ON "${table}"`);
      }
      await queryRunner.query(`DROP TRIGGER "TRG_sessions_auth_state_idle" ON "sessions"`);
    } else {
      await queryRunner.query(`DROP TRIGGER "TRG_sessions_auth_state_idle"`);
    }
  }
}

const TRUNCATE_TRIGGERS: ReadonlyArray<readonly [string, string]> = [
  ['TRG_users_auth_state_truncate', 'users'],
  ['TRG_sessions_auth_state_truncate', 'sessions'],
  ['TRG_users_to_roles_auth_state_truncate', 'users_to_roles'],
  ['TRG_roles_auth_state_truncate', 'roles'],
];
