import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { Passkey } from '../src/mfa/entities/passkey.entity';
import { RecoveryCode } from '../src/mfa/entities/recovery-code.entity';
import { TotpFactor } from '../src/mfa/entities/totp-factor.entity';
import { MfaSecretBox } from '../src/mfa/mfa-secret-box';
import { TotpFactors } from '../src/mfa/totp/totp-factors';
import { createUser, loginToken } from './helpers/factories';
import { enrolTotp, totpCode } from './helpers/mfa';
import { passkeyRow } from './helpers/passkey-row';
import { startSmtpServer, type TestSmtpServer } from './helpers/smtp-server';
import { createTestApp, testEnvironment, type TestApp } from './helpers/test-app';

const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');

const newKey = () => randomBytes(32).toString('hex');

function runCli(t: TestApp, args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [CLI, ...args], {
    cwd: process.cwd(),
    env: { ...process.env, DATABASE_URL: '', ...testEnvironment(t.database, env) },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('npm run cli -- mfa-reset', () => {
  const key = newKey();
  let smtp: TestSmtpServer;
  let t: TestApp;
  before(async () => {
    smtp = await startSmtpServer();
    t = await createTestApp({
      env: { SMTP_URL: smtp.url, MAIL_POLL_INTERVAL_MS: '100', MFA_ENCRYPTION_KEY: key },
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  const cli = (args: string[]) => runCli(t, args, { SMTP_URL: smtp.url, MFA_ENCRYPTION_KEY: key });

  it('resets a user found by email, username or id, as the admin route does (audited, no actor)', async () => {
    const user = await createUser(t);
    // A session from before the enrolment (a password login now asks for the factor).
    const token = await loginToken(t, user.username);
    await enrolTotp(t, user.user);
    await t.dataSource.getRepository(Passkey).insert(passkeyRow(user.user.id));

    const run = cli(['mfa-reset', '--user', user.email.toUpperCase()]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(
        `Reset the second factors of ${user.username} <${user.email}>: authenticator removed, ` +
          '1 passkey\\(s\\), 10 recovery code\\(s\\) deleted, 1 session\\(s\\) ended',
      ),
    );
    const userId = user.user.id;
    assert.equal(await t.dataSource.getRepository(TotpFactor).countBy({ userId }), 0);
    assert.equal(await t.dataSource.getRepository(Passkey).countBy({ userId }), 0);
    assert.equal(await t.dataSource.getRepository(RecoveryCode).countBy({ userId }), 0);
    assert.equal(
      (await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`)).status,
      401,
    );
    const event = await t.dataSource
      .getRepository(AuditEvent)
      .findOneByOrFail({ type: 'mfa.reset_by_admin', subjectUserId: userId });
    assert.equal(event.actorId, null);
    assert.equal((JSON.parse(event.details) as { via: string }).via, 'cli');
    // Queued by the CLI at its own (real) now; the server's test clock stands still.
    t.clock.advance(60);
    await smtp.waitForMailTo(user.email, /reset by an administrator/);

    const other = await createUser(t);
    await enrolTotp(t, other.user);
    for (const name of [other.user.id.toUpperCase(), other.username]) {
      const again = cli(['mfa-reset', '--user', name]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`of ${other.username} <`));
    }
    assert.equal(
      await t.dataSource.getRepository(TotpFactor).countBy({ userId: other.user.id }),
      0,
    );
  });

  it('fails naming an unknown user, and needs --user', () => {
    const unknown = cli(['mfa-reset', '--user', 'nobody-here']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no user "nobody-here"; nothing was changed/);
    assert.equal(cli(['mfa-reset']).status, 2);
  });
});

describe('npm run cli -- mfa-rekey (rotating MFA_ENCRYPTION_KEY)', () => {
  const oldKey = newKey();
  const newerKey = newKey();
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { MFA_ENCRYPTION_KEY: oldKey } });
  });
  after(() => t.close());

  it('re-seals every secret under the new key: a service with only the new key still checks the codes', async () => {
    const users = [await createUser(t), await createUser(t)];
    const secrets = [];
    for (const user of users) secrets.push((await enrolTotp(t, user.user)).secret);
    const sealedBefore = await t.dataSource.getRepository(TotpFactor).find();

    // Only the new key, before the rekey: the stored secrets do not open.
    const early = await createTestApp({
      database: t.database,
      env: { MFA_ENCRYPTION_KEY: newerKey },
    });
    try {
      assert.throws(() =>
        early.app
          .get(MfaSecretBox)
          .open(sealedBefore[0]?.secretCiphertext ?? '', sealedBefore[0]?.userId ?? ''),
      );
    } finally {
      await early.close();
    }

    const rotate = { MFA_ENCRYPTION_KEY: newerKey, MFA_PREVIOUS_ENCRYPTION_KEYS: oldKey };
    const run = runCli(t, ['mfa-rekey'], rotate);
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /Re-sealed 2 TOTP secret\(s\) under the current MFA_ENCRYPTION_KEY \(0 already under it, 0 changed meanwhile\)/,
    );
    const sealedAfter = await t.dataSource.getRepository(TotpFactor).find();
    for (const row of sealedAfter) {
      const earlier = sealedBefore.find((before) => before.userId === row.userId);
      assert.notEqual(row.secretCiphertext, earlier?.secretCiphertext);
      assert.notEqual(row.secretCiphertext.split('.')[1], earlier?.secretCiphertext.split('.')[1]);
    }
    // Idempotent: nothing left under the old key.
    const again = runCli(t, ['mfa-rekey'], rotate);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /Re-sealed 0 TOTP secret\(s\) .*\(2 already under it/);
    const events = await t.dataSource
      .getRepository(AuditEvent)
      .findBy({ type: 'mfa.secrets_rekeyed' });
    assert.deepEqual(
      events.map((event) => (JSON.parse(event.details) as { rekeyed: number }).rekeyed).sort(),
      [0, 2],
    );

    // The old key dropped: a service with only the new one accepts the users' codes.
    const rotated = await createTestApp({
      database: t.database,
      env: { MFA_ENCRYPTION_KEY: newerKey },
    });
    try {
      rotated.clock.set(new Date(t.clock.now().getTime() + 60_000));
      for (const [index, user] of users.entries()) {
        const code = await totpCode(rotated, secrets[index] ?? '');
        assert.equal(await rotated.app.get(TotpFactors).check(user.user.id, code), true);
      }
    } finally {
      await rotated.close();
    }
  });

  it('exits 1 naming the users whose secret is under a key it was not given, and leaves them', async () => {
    const user = await createUser(t);
    await enrolTotp(t, user.user);
    const before = await t.dataSource
      .getRepository(TotpFactor)
      .findOneByOrFail({ userId: user.user.id });
    const run = runCli(t, ['mfa-rekey'], { MFA_ENCRYPTION_KEY: newKey() });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /neither MFA_ENCRYPTION_KEY nor in MFA_PREVIOUS_ENCRYPTION_KEYS/);
    assert.ok(run.stderr.includes(user.user.id));
    // Without MFA_ENCRYPTION_KEY (a generated key under NODE_ENV=test) it changes nothing.
    const keyless = runCli(t, ['mfa-rekey'], { MFA_PREVIOUS_ENCRYPTION_KEYS: oldKey });
    assert.equal(keyless.status, 1);
    assert.match(keyless.stderr, /mfa-rekey seals under MFA_ENCRYPTION_KEY: set it/);
    const after = await t.dataSource
      .getRepository(TotpFactor)
      .findOneByOrFail({ userId: user.user.id });
    assert.equal(after.secretCiphertext, before.secretCiphertext);
  });
});
