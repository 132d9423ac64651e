import bcrypt from 'bcryptjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { In } from 'typeorm';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { User } from '../src/users/entities/user.entity';
import { createUser, uniqueUsername } from './helpers/factories';
import { createTestApp, TestApp, testEnvironment } from './helpers/test-app';

// The compiled entry point beside this compiled file, whatever outDir the runner compiled to.
const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const AUDIT_KEY = randomBytes(32).toString('base64url');
const OLD_PASSWORD = 'secret-from-the-tutorial';

/** What passlib's CryptContext(schemes=["bcrypt"]) stored (cost lowered: tests stay fast). */
const passlibHash = (password: string, variant: '2a' | '2b' | '2y' = '2b'): string =>
  bcrypt.hashSync(password, 4).replace(/^\$2b\$/, `$${variant}$`);

describe('npm run cli -- import-users', () => {
  let t: TestApp;
  let directory: string;
  before(async () => {
    t = await createTestApp({ env: { AUDIT_KEY } });
    directory = mkdtempSync(path.join(tmpdir(), 'import-users-'));
  });
  after(async () => {
    await t.close();
    rmSync(directory, { recursive: true, force: true });
  });

  function file(name: string, content: string): string {
    const full = path.join(directory, name);
    writeFileSync(full, content);
    return full;
  }

  function cli(args: string[]) {
    return spawnSync(process.execPath, [CLI, 'import-users', ...args], {
      cwd: process.cwd(),
      // DATABASE_URL '' keeps a developer's .env from sending a SQLite run to PostgreSQL.
      env: { ...process.env, DATABASE_URL: '', ...testEnvironment(t.database, { AUDIT_KEY }) },
      encoding: 'utf8',
    });
  }

  const login = (username: string, password: string) =>
    t.http().post('/api/v1/auth/login').send({ username, password });

  async function storedHash(username: string): Promise<string> {
    const user = await t.dataSource
      .getRepository(User)
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.username = :username', { username })
      .getOneOrFail();
    return user.passwordHash;
  }

  const countNamed = (usernames: string[]) =>
    t.dataSource.getRepository(User).countBy({ username: In(usernames) });

  it('imports a CSV export; the old password logs in once and the hash becomes argon2id', async () => {
    const [alice, bob] = [uniqueUsername('alice'), uniqueUsername('bob')];
    const present = await createUser(t);
    const csv = file(
      'users.csv',
      'id,username,email,full_name,hashed_password,disabled\r\n' +
        `1,${alice.toUpperCase()},${alice}@Example.com,"Alice, Wonder",${passlibHash(OLD_PASSWORD)},0\r\n` +
        `2,${bob},${bob}@example.com,,${passlibHash(OLD_PASSWORD)},1\r\n` +
        `3,${present.username},someone-else@example.com,,${passlibHash(OLD_PASSWORD)},0\r\n`,
    );

    const result = cli(['--file', csv]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /: 3 records$/m);
    assert.match(
      result.stdout,
      new RegExp(`^ {2}line 4: skipped: username "${present.username}" is already taken$`, 'm'),
    );
    assert.match(
      result.stdout,
      /^Imported 2 accounts with ROLE_USER \(1 active, 1 inactive\); skipped 1 already present, 0 invalid$/m,
    );
    assert.ok(!`${result.stdout}${result.stderr}`.includes('$2b$'), 'no hash is printed');

    // A wrong password fails and leaves the bcrypt hash as it was.
    assert.equal((await login(alice, 'not-the-password')).status, 401);
    assert.match(await storedHash(alice), /^\$2b\$04\$/);

    const first = await login(`${alice}@example.com`, OLD_PASSWORD).expect(200);
    assert.match(await storedHash(alice), /^\$argon2id\$/);
    const me = await t
      .http()
      .get('/api/v1/users/me')
      .auth((first.body as { access_token: string }).access_token, { type: 'bearer' })
      .expect(200);
    assert.equal((me.body as { username: string }).username, alice);
    assert.equal((me.body as { email: string }).email, `${alice}@example.com`);
    assert.deepEqual((me.body as { roles: string[] }).roles, ['ROLE_USER']);
    // The argon2id hash takes the same password from now on.
    await login(alice, OLD_PASSWORD).expect(200);

    // A disabled account stays out with the right password, and is not rehashed.
    assert.equal((await login(bob, OLD_PASSWORD)).status, 401);
    assert.match(await storedHash(bob), /^\$2b\$/);
    // The account already present kept its own password.
    assert.match(await storedHash(present.username), /^\$argon2id\$/);

    // One audit event per imported account, without the hash.
    const ids = (await t.dataSource.getRepository(User).findBy({ username: In([alice, bob]) })).map(
      (user) => user.id,
    );
    const events = await t.dataSource
      .getRepository(AuditEvent)
      .findBy({ type: 'user.imported', subjectUserId: In(ids) });
    assert.equal(events.length, 2);
    const details = events.map((event) => JSON.parse(event.details) as Record<string, unknown>);
    assert.deepEqual(details.map((detail) => detail.isActive).sort(), [false, true]);
    assert.ok(details.every((detail) => detail.via === 'cli' && detail.file === 'users.csv'));
    assert.ok(!events.some((event) => event.details.includes('$2')));

    // The same file again imports nothing and says why.
    const again = cli(['--file', csv]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /^Imported 0 accounts .*skipped 3 already present/m);
    assert.equal(await countNamed([alice, bob]), 2);
  });

  it('imports a JSON export with is_active, and $2a$ and $2y$ hashes', async () => {
    const [carol, dave, erin] = ['carol', 'dave', 'erin'].map((name) => uniqueUsername(name));
    const json = file(
      'users.json',
      JSON.stringify([
        {
          username: carol,
          email: `${carol}@example.com`,
          hashed_password: passlibHash(OLD_PASSWORD, '2a'),
          is_active: true,
        },
        {
          username: dave,
          email: `${dave}@example.com`,
          hashed_password: passlibHash(OLD_PASSWORD, '2y'),
        },
        {
          username: erin,
          email: `${erin}@example.com`,
          hashed_password: passlibHash(OLD_PASSWORD),
          is_active: false,
        },
      ]),
    );
    const result = cli(['--file', json]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^Imported 3 accounts with ROLE_USER \(2 active, 1 inactive\)/m);
    for (const name of [carol, dave]) {
      await login(name, OLD_PASSWORD).expect(200);
      assert.match(await storedHash(name), /^\$argon2id\$/);
    }
    assert.equal((await login(erin, OLD_PASSWORD)).status, 401);
  });

  it('reports invalid and duplicate records and imports nothing, unless --skip-invalid', async () => {
    const [frank, gina, hank] = ['frank', 'gina', 'hank'].map((name) => uniqueUsername(name));
    const csv = file(
      'mixed.csv',
      'username,email,hashed_password,is_active\n' +
        `${frank},${frank}@example.com,${passlibHash(OLD_PASSWORD)},t\n` +
        `${gina},not-an-email,${passlibHash(OLD_PASSWORD)},t\n` +
        `${hank},${hank}@example.com,5f4dcc3b5aa765d61d8327deb882cf99,t\n` +
        `${hank.toUpperCase()},other-${hank}@example.com,${passlibHash(OLD_PASSWORD)},t\n` +
        `${hank}x,${hank}x@example.com,${passlibHash(OLD_PASSWORD)},t\n` +
        `${hank}x,${hank}y@example.com,${passlibHash(OLD_PASSWORD)},t\n`,
    );

    const refused = cli(['--file', csv]);
    assert.equal(refused.status, 1, refused.stdout);
    assert.match(refused.stdout, /^ {2}line 3: invalid: email must be a valid email address$/m);
    assert.match(refused.stdout, /^ {2}line 4: invalid: hashed_password is not a bcrypt hash/m);
    assert.match(
      refused.stdout,
      new RegExp(`^ {2}line 6: invalid: username "${hank}x" is also on line 7$`, 'm'),
    );
    assert.match(refused.stdout, /^ {2}line 7: invalid: /m);
    assert.match(refused.stderr, /4 records are invalid; nothing was imported/);
    assert.equal(await countNamed([frank, gina, hank, `${hank}x`]), 0);

    const dryRun = cli(['--file', csv, '--skip-invalid', '--dry-run']);
    assert.equal(dryRun.status, 0, dryRun.stderr);
    assert.match(
      dryRun.stdout,
      /^Dry run: would import 2 accounts with ROLE_USER \(2 active, 0 inactive\); would skip 0 already present, 4 invalid; nothing was changed$/m,
    );
    assert.equal(await countNamed([frank, hank]), 0);

    const skipping = cli(['--file', csv, '--skip-invalid']);
    assert.equal(skipping.status, 0, skipping.stderr);
    assert.match(skipping.stdout, /^Imported 2 accounts with ROLE_USER/m);
    // Line 5 (HANK) was valid: its username is canonical, and it clashed with nothing valid.
    assert.equal(await countNamed([frank, hank]), 2);
    assert.equal(await countNamed([gina, `${hank}x`]), 0);
    await login(frank, OLD_PASSWORD).expect(200);
  });

  it('refuses a file it cannot read, a format it cannot tell, and other hash formats clearly', async () => {
    const missing = cli(['--file', path.join(directory, 'nope.csv')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /cannot read .*nope\.csv \(ENOENT\)/);

    const unknown = cli(['--file', file('users.txt', '')]);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /name it \.json or \.csv, or pass --format/);

    const name = uniqueUsername('ivan');
    const argon = cli([
      '--format',
      'json',
      '--file',
      file(
        'argon.export',
        JSON.stringify([
          { username: name, email: `${name}@example.com`, hashed_password: await storedHashOf() },
        ]),
      ),
    ]);
    assert.equal(argon.status, 1);
    assert.match(
      argon.stdout,
      /row 1: invalid: hashed_password is an argon2 hash: only bcrypt hashes \(\$2b\$, \$2a\$, \$2y\$\) are imported/,
    );
    assert.equal(await countNamed([name]), 0);
  });

  /** An argon2id hash, as this service stores them. */
  async function storedHashOf(): Promise<string> {
    return storedHash((await createUser(t)).username);
  }
});
