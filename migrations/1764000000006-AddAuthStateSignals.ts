import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Triggers announcing every change that can refuse an access token or change what it grants:
 * users (activation, password, username/email/updated_at, deletion), sessions (revocation, a
 * move to another user, deletion), any grant or revocation, any role rename or deletion.
 * PostgreSQL: `NOTIFY identity_auth_state` with `u:<user id>`, `s:<session id>` or `*` at commit;
 * SQLite: the single row of `auth_state_version` incremented. Why: docs/decisions.md, "Auth-state
 * cache". Written out in full rather than through shared helpers: a landed migration never changes.
 */
export class AddAuthStateSignals1764000000006 implements MigrationInterface {
  name = 'AddAuthStateSignals1764000000006';

  public async up(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      await this.upPostgres(queryRunner);
    } else {
      await this.upSqlite(queryRunner);
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    if (queryRunner.connection.driver.options.type === 'postgres') {
      for (const [trigger, table] of POSTGRES_TRIGGERS) {
        await queryRunner.query(`DROP TRIGGER "${trigger}" ON "${table}"`);
      }
      await queryRunner.query(`DROP FUNCTION "auth_state_notify_all"()`);
      await queryRunner.query(`DROP FUNCTION "auth_state_notify"()`);
    } else {
      for (const trigger of SQLITE_TRIGGERS) {
        await queryRunner.query(`DROP TRIGGER "${trigger}"`);
      }
      await queryRunner.query(`DROP TABLE "auth_state_version"`);
    }
  }

  private async upPostgres(queryRunner: QueryRunner): Promise<void> {
    // TG_ARGV: the payload's prefix and the column holding the id.
    await queryRunner.query(`
      CREATE FUNCTION "auth_state_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        row_data jsonb;
      BEGIN
        IF TG_OP = 'DELETE' THEN
          row_data := to_jsonb(OLD);
        ELSE
          row_data := to_jsonb(NEW);
        END IF;
        PERFORM pg_notify('identity_auth_state', TG_ARGV[0] || ':' || (row_data ->> TG_ARGV[1]));
        IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) ->> TG_ARGV[1]) IS DISTINCT FROM (row_data ->> TG_ARGV[1]) THEN
          PERFORM pg_notify('identity_auth_state', TG_ARGV[0] || ':' || (to_jsonb(OLD) ->> TG_ARGV[1]));
        END IF;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE FUNCTION "auth_state_notify_all"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('identity_auth_state', '*');
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_users_auth_state_update" AFTER UPDATE ON "users" FOR EACH ROW
      WHEN (OLD."is_active" IS DISTINCT FROM NEW."is_active"
        OR OLD."password_changed_at" IS DISTINCT FROM NEW."password_changed_at"
        OR OLD."username" IS DISTINCT FROM NEW."username"
        OR OLD."email" IS DISTINCT FROM NEW."email"
        OR OLD."updated_at" IS DISTINCT FROM NEW."updated_at"
        OR OLD."created_at" IS DISTINCT FROM NEW."created_at"
        OR OLD."id" IS DISTINCT FROM NEW."id")
      EXECUTE FUNCTION "auth_state_notify"('u', 'id')`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_users_auth_state_delete" AFTER DELETE ON "users" FOR EACH ROW
      EXECUTE FUNCTION "auth_state_notify"('u', 'id')`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_sessions_auth_state_update" AFTER UPDATE ON "sessions" FOR EACH ROW
      WHEN (OLD."revoked_at" IS DISTINCT FROM NEW."revoked_at"
        OR OLD."user_id" IS DISTINCT FROM NEW."user_id"
        OR OLD."absolute_expires_at" IS DISTINCT FROM NEW."absolute_expires_at"
        OR OLD."id" IS DISTINCT FROM NEW."id")
      EXECUTE FUNCTION "auth_state_notify"('s', 'id')`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_sessions_auth_state_delete" AFTER DELETE ON "sessions" FOR EACH ROW
      EXECUTE FUNCTION "auth_state_notify"('s', 'id')`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_users_to_roles_auth_state" AFTER INSERT OR UPDATE OR DELETE
      ON "users_to_roles" FOR EACH ROW EXECUTE FUNCTION "auth_state_notify"('u', 'user_id')`);
    await queryRunner.query(`
      CREATE TRIGGER "TRG_roles_auth_state" AFTER UPDATE OR DELETE ON "roles"
      FOR EACH STATEMENT EXECUTE FUNCTION "auth_state_notify_all"()`);
  }

  private async upSqlite(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "auth_state_version" ("id" integer PRIMARY KEY NOT NULL CHECK ("id" = 1), "version" integer NOT NULL)`,
    );
    await queryRunner.query(`INSERT INTO "auth_state_version" ("id", "version") VALUES (1, 0)`);
    const bump = `BEGIN UPDATE "auth_state_version" SET "version" = "version" + 1 WHERE "id" = 1; END`;
    await queryRunner.query(`
      CREATE TRIGGER "TRG_users_auth_state_update" AFTER UPDATE ON "users"
      WHEN OLD."is_active" IS NOT NEW."is_active"
        OR OLD."password_changed_at" IS NOT NEW."password_changed_at"
        OR OLD."username" IS NOT NEW."username"
        OR OLD."email" IS NOT NEW."email"
        OR OLD."updated_at" IS NOT NEW."updated_at"
        OR OLD."created_at" IS NOT NEW."created_at"
        OR OLD."id" IS NOT NEW."id"
      ${bump}`);
    await queryRunner.query(
      `CREATE TRIGGER "TRG_users_auth_state_delete" AFTER DELETE ON "users" ${bump}`,
    );
    await queryRunner.query(`
      CREATE TRIGGER "TRG_sessions_auth_state_update" AFTER UPDATE ON "sessions"
      WHEN OLD."revoked_at" IS NOT NEW."revoked_at"
        OR OLD."user_id" IS NOT NEW."user_id"
        OR OLD."absolute_expires_at" IS NOT NEW."absolute_expires_at"
        OR OLD."id" IS NOT NEW."id"
      ${bump}`);
    await queryRunner.query(
      `CREATE TRIGGER "TRG_sessions_auth_state_delete" AFTER DELETE ON "sessions" ${bump}`,
    );
    for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
      await queryRunner.query(
        `CREATE TRIGGER "TRG_users_to_roles_auth_state_${event.toLowerCase()}" AFTER ${event} ON "users_to_roles" ${bump}`,
      );
    }
    for (const event of ['UPDATE', 'DELETE']) {
      await queryRunner.query(
        `CREATE TRIGGER "TRG_roles_auth_state_${event.toLowerCase()}" AFTER ${event} ON "roles" ${bump}`,
      );
    }
  }
}

const POSTGRES_TRIGGERS: ReadonlyArray<readonly [string, string]> = [
  ['TRG_users_auth_state_update', 'users'],
  ['TRG_users_auth_state_delete', 'users'],
  ['TRG_sessions_auth_state_update', 'sessions'],
  ['TRG_sessions_auth_state_delete', 'sessions'],
  ['TRG_users_to_roles_auth_state', 'users_to_roles'],
  ['TRG_roles_auth_state', 'roles'],
];

const SQLITE_TRIGGERS: readonly string[] = [
  'TRG_users_auth_state_update',
  'TRG_users_auth_state_delete',
  'TRG_sessions_auth_state_update',
  'TRG_sessions_auth_state_delete',
  'TRG_users_to_roles_auth_state_insert',
  'TRG_users_to_roles_auth_state_update',
  'TRG_users_to_roles_auth_state_delete',
  'TRG_roles_auth_state_update',
  'TRG_roles_auth_state_delete',
];
