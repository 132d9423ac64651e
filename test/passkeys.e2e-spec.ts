import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { AuditEvent } from '../src/audit/audit-event.entity';
import { MfaChallenges } from '../src/mfa/challenges/mfa-challenges';
import { Passkey } from '../src/mfa/entities/passkey.entity';
import { PasskeyAuthentication } from '../src/mfa/passkeys/passkey-authentication';
import { NO_REQUEST_CONTEXT } from '../src/common/request-context';
import { User } from '../src/users/entities/user.entity';
import { UsersService } from '../src/users/users.service';
import { createUser, createUserWithToken, TEST_PASSWORD } from './helpers/factories';
import { passwordSession } from './helpers/mfa-login';
import { SoftAuthenticator } from './helpers/soft-authenticator';
import { createTestApp, type TestApp } from './helpers/test-app';

const ORIGIN = 'http://localhost:4173';
const ENV = { WEBAUTHN_RP_ID: 'localhost', WEBAUTHN_ORIGINS: ORIGIN };

type Passkeyed = Awaited<ReturnType<typeof createUserWithToken>> & {
  authenticator: SoftAuthenticator;
  passkeyId: string;
};

const INVALID_CREDENTIALS = {
  type: 'urn:problem:identity:invalid-credentials',
  title: 'Invalid credentials',
  status: 401,
  detail: 'Invalid username or password',
};

describe('passkeys (SPEC §9): registration, management, usernameless sign-in', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: ENV });
  });
  after(() => t.close());

  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  async function registrationOptions(
    token: string,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const response = await t
      .http()
      .post('/api/v1/users/me/passkeys/registration-options')
      .set(bearer(token))
      .send({ currentPassword: TEST_PASSWORD })
      .expect(200);
    return response.body as PublicKeyCredentialCreationOptionsJSON;
  }

  async function withPasskey(
    options: { synced?: boolean; step?: number } = {},
  ): Promise<Passkeyed> {
    const user = await createUserWithToken(t);
    const authenticator = new SoftAuthenticator({ origin: ORIGIN, ...options });
    const created = await t
      .http()
      .post('/api/v1/users/me/passkeys')
      .set(bearer(user.token))
      .send({ response: authenticator.create(await registrationOptions(user.token)) })
      .expect(201);
    return { ...user, authenticator, passkeyId: (created.body as { id: string }).id };
  }

  async function signInOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const response = await t.http().post('/api/v1/auth/passkey/options').expect(200);
    return response.body as PublicKeyCredentialRequestOptionsJSON;
  }

  const passkeyLogin = (response: unknown) =>
    t.http().post('/api/v1/auth/passkey/login').send({ response });

  const eventsOf = async (userId: string, type?: string) =>
    (
      await t.dataSource
        .getRepository(AuditEvent)
        .find({ where: { subjectUserId: userId }, order: { sequence: 'ASC' } })
    )
      .filter((event) => type === undefined || event.type === type)
      .map((event) => ({ type: event.type, details: JSON.parse(event.details) as object }));

  describe('registration', () => {
    it('offers a discoverable credential with user verification, the handle made of the user id', async () => {
      const user = await createUserWithToken(t);
      const options = await registrationOptions(user.token);
      assert.deepEqual(options.rp, { id: 'localhost', name: t.config.webauthn.rpName });
      assert.equal(
        options.user.id,
        Buffer.from(user.user.id.replace(/-/g, ''), 'hex').toString('base64url'),
      );
      assert.equal(options.user.name, user.username);
      assert.ok(!JSON.stringify(options).includes(user.email), 'the email is never sent');
      assert.equal(options.authenticatorSelection?.residentKey, 'required');
      assert.equal(options.authenticatorSelection?.userVerification, 'required');
      assert.equal(options.attestation, 'none');
      assert.deepEqual(options.excludeCredentials, []);
      assert.match(options.challenge, /^[A-Za-z0-9_-]{43}$/);
    });

    it('needs re-authentication: none, or a wrong password, is 401', async () => {
      const user = await createUserWithToken(t);
      const url = '/api/v1/users/me/passkeys/registration-options';
      const none = await t.http().post(url).set(bearer(user.token)).send({}).expect(401);
      assert.equal(
        (none.body as { type: string }).type,
        'urn:problem:identity:reauthentication-required',
      );
      const wrong = await t
        .http()
        .post(url)
        .set(bearer(user.token))
        .send({ currentPassword: 'not-the-password-9' })
        .expect(401);
      assert.equal((wrong.body as { detail: string }).detail, 'The current password is incorrect');
    });

    it('stores the verified passkey, audits it, and then excludes it from new options', async () => {
      const user = await withPasskey();
      const listed = await t.http().get('/api/v1/users/me/passkeys').set(bearer(user.token));
      assert.equal(listed.status, 200);
      const [passkey] = listed.body as Array<Record<string, unknown>>;
      assert.deepEqual(Object.keys(passkey ?? {}).sort(), [
        'backedUp',
        'createdAt',
        'deviceType',
        'id',
        'lastUsedAt',
        'name',
        'transports',
      ]);
      assert.equal(passkey?.id, user.passkeyId);
      assert.equal(passkey?.deviceType, 'singleDevice');
      assert.equal(passkey?.backedUp, false);
      assert.equal(passkey?.lastUsedAt, null);
      assert.deepEqual(passkey?.transports, ['internal']);
      const row = await t.dataSource.getRepository(Passkey).findOneByOrFail({ id: user.passkeyId });
      assert.equal(row.credentialId, user.authenticator.credentialId);
      assert.equal(row.signCount, 0);
      assert.deepEqual(await eventsOf(user.user.id, 'mfa.passkey_added'), [
        {
          type: 'mfa.passkey_added',
          details: {
            passkeyId: user.passkeyId,
            name: 'Security key',
            deviceType: 'singleDevice',
            aaguid: '00000000-0000-0000-0000-000000000000',
          },
        },
      ]);
      const again = await registrationOptions(user.token);
      assert.deepEqual(
        again.excludeCredentials?.map((credential) => credential.id),
        [user.authenticator.credentialId],
      );
    });

    it('takes a name, and tells a synced passkey apart', async () => {
      const user = await createUserWithToken(t);
      const authenticator = new SoftAuthenticator({ origin: ORIGIN, synced: true });
      const created = await t
        .http()
        .post('/api/v1/users/me/passkeys')
        .set(bearer(user.token))
        .send({
          response: authenticator.create(await registrationOptions(user.token)),
          name: '  Phone  ',
        })
        .expect(201);
      const body = created.body as Record<string, unknown>;
      assert.equal(body.name, 'Phone');
      assert.equal(body.deviceType, 'multiDevice');
      assert.equal(body.backedUp, true);
    });

    it('refuses a used challenge, another user’s challenge, a foreign origin, no user verification', async () => {
      const user = await createUserWithToken(t);
      const other = await createUserWithToken(t);
      const register = (response: unknown, token = user.token) =>
        t.http().post('/api/v1/users/me/passkeys').set(bearer(token)).send({ response });
      const expectRejected = async (response: unknown, token?: string) => {
        const answer = await register(response, token);
        assert.equal(answer.status, 400);
        assert.equal(
          (answer.body as { type: string }).type,
          'urn:problem:identity:passkey-rejected',
        );
      };
      // Another user's challenge: signed by an authenticator, but not issued to this account.
      await expectRejected(
        new SoftAuthenticator({ origin: ORIGIN }).create(await registrationOptions(other.token)),
      );
      await expectRejected(
        new SoftAuthenticator({ origin: 'http://evil.localhost:4173' }).create(
          await registrationOptions(user.token),
        ),
      );
      await expectRejected(
        new SoftAuthenticator({ origin: ORIGIN, userVerified: false }).create(
          await registrationOptions(user.token),
        ),
      );
      await expectRejected({ id: 'x', rawId: 'x', type: 'public-key', response: {} });
      // The challenge was spent by the first attempt, even though that one was refused.
      const options = await registrationOptions(user.token);
      await expectRejected(
        new SoftAuthenticator({ origin: ORIGIN }).create(options, { origin: 'http://x.test' }),
      );
      await expectRejected(new SoftAuthenticator({ origin: ORIGIN }).create(options));
      const fine = new SoftAuthenticator({ origin: ORIGIN }).create(
        await registrationOptions(user.token),
      );
      assert.equal((await register(fine)).status, 201);
      assert.equal((await register(fine)).status, 400, 'a response registers once');
      assert.equal(await t.dataSource.getRepository(Passkey).countBy({ userId: user.user.id }), 1);
      const invalid = await register('not an object');
      assert.equal(invalid.status, 400);
    });

    it('answers 409 for a credential already registered (excludeCredentials is only a hint)', async () => {
      const user = await withPasskey();
      const again = await t
        .http()
        .post('/api/v1/users/me/passkeys')
        .set(bearer(user.token))
        .send({ response: user.authenticator.create(await registrationOptions(user.token)) });
      assert.equal(again.status, 409);
      assert.equal((again.body as { detail: string }).detail, 'This passkey is already registered');
    });
  });

  describe('management', () => {
    it('renames and removes own passkeys; another user’s id is 404, never 403', async () => {
      const user = await withPasskey();
      const other = await withPasskey();
      const renamed = await t
        .http()
        .patch(`/api/v1/users/me/passkeys/${user.passkeyId}`)
        .set(bearer(user.token))
        .send({ name: 'Work laptop' })
        .expect(200);
      assert.equal((renamed.body as { name: string }).name, 'Work laptop');
      const empty = await t
        .http()
        .patch(`/api/v1/users/me/passkeys/${user.passkeyId}`)
        .set(bearer(user.token))
        .send({ name: '   ' });
      assert.equal(empty.status, 400);

      for (const id of [other.passkeyId, randomUUID()]) {
        const rename = await t
          .http()
          .patch(`/api/v1/users/me/passkeys/${id}`)
          .set(bearer(user.token))
          .send({ name: 'mine now' });
        const remove = await t
          .http()
          .delete(`/api/v1/users/me/passkeys/${id}`)
          .set(bearer(user.token))
          .send({ currentPassword: TEST_PASSWORD });
        for (const answer of [rename, remove]) {
          assert.equal(answer.status, 404);
          assert.deepEqual(
            [(answer.body as { type: string }).type, (answer.body as { detail: string }).detail],
            ['urn:problem:identity:passkey-not-found', 'No such passkey'],
          );
        }
      }
      const untouched = await t
        .http()
        .get('/api/v1/users/me/passkeys')
        .set(bearer(other.token))
        .expect(200);
      assert.notEqual((untouched.body as Array<{ name: string }>)[0]?.name, 'mine now');

      const unconfirmed = await t
        .http()
        .delete(`/api/v1/users/me/passkeys/${user.passkeyId}`)
        .set(bearer(user.token))
        .send({});
      assert.equal(unconfirmed.status, 401);
      await t
        .http()
        .delete(`/api/v1/users/me/passkeys/${user.passkeyId}`)
        .set(bearer(user.token))
        .send({ currentPassword: TEST_PASSWORD })
        .expect(204);
      const listed = await t.http().get('/api/v1/users/me/passkeys').set(bearer(user.token));
      assert.deepEqual(listed.body, []);
      assert.deepEqual(
        (await eventsOf(user.user.id))
          .map((event) => event.type)
          .filter((type) => type.startsWith('mfa.')),
        ['mfa.passkey_added', 'mfa.passkey_renamed', 'mfa.passkey_removed'],
      );
    });
  });

  describe('usernameless sign-in', () => {
    it('offers no allowCredentials and requires user verification', async () => {
      const options = await signInOptions();
      assert.equal(options.allowCredentials, undefined);
      assert.equal(options.userVerification, 'required');
      assert.equal(options.rpId, 'localhost');
      assert.match(options.challenge, /^[A-Za-z0-9_-]{43}$/);
    });

    it('signs in with a registered passkey: a session whose token works, the use recorded', async () => {
      const user = await withPasskey();
      const login = await passkeyLogin(user.authenticator.get(await signInOptions()));
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const pair = login.body as { access_token: string; refresh_token: string };
      const me = await t.http().get('/api/v1/users/me').set(bearer(pair.access_token)).expect(200);
      assert.equal((me.body as { id: string }).id, user.user.id);
      await t
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refresh_token: pair.refresh_token })
        .expect(200);
      const row = await t.dataSource.getRepository(Passkey).findOneByOrFail({ id: user.passkeyId });
      assert.equal(row.signCount, 1);
      assert.deepEqual(row.lastUsedAt, t.clock.now());
      const types = (await eventsOf(user.user.id)).map((event) => event.type);
      assert.ok(types.includes('auth.passkey_login_succeeded'));
      assert.ok(types.includes('auth.login_succeeded'));
    });

    it('proves a second factor: amr hwk (device-bound) or swk (synced) with mfa, mfaAt now', async () => {
      const service = t.app.get(PasskeyAuthentication);
      const bound = await withPasskey();
      const signedIn = await service.signIn(
        bound.authenticator.get(await signInOptions()),
        NO_REQUEST_CONTEXT,
      );
      assert.deepEqual(signedIn.proof, { amr: ['hwk', 'mfa'], mfaAt: t.clock.now() });
      assert.equal(signedIn.account.user.id, bound.user.id);
      const synced = await withPasskey({ synced: true });
      const syncedIn = await service.signIn(
        synced.authenticator.get(await signInOptions()),
        NO_REQUEST_CONTEXT,
      );
      assert.deepEqual(syncedIn.proof.amr, ['swk', 'mfa']);
    });

    it('answers every refusal with the same 401 and audits why', async () => {
      const user = await withPasskey();
      const refusals: Array<[string, () => Promise<unknown>]> = [
        [
          'replayed',
          async () => {
            const assertion = user.authenticator.get(await signInOptions());
            assert.equal((await passkeyLogin(assertion)).status, 200);
            return assertion;
          },
        ],
        [
          'unknown challenge',
          () =>
            Promise.resolve(
              user.authenticator.get({
                challenge: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
                rpId: 'localhost',
              }),
            ),
        ],
        [
          'unknown credential',
          async () => new SoftAuthenticator({ origin: ORIGIN }).get(await signInOptions()),
        ],
        [
          'foreign origin',
          async () => user.authenticator.get(await signInOptions(), { origin: 'http://evil.test' }),
        ],
        [
          'other RP id',
          async () => user.authenticator.get(await signInOptions(), { rpId: 'evil.test' }),
        ],
        [
          'malformed',
          () => Promise.resolve({ id: 'x', rawId: 'x', type: 'public-key', response: {} }),
        ],
      ];
      for (const [label, make] of refusals) {
        const answer = await passkeyLogin(await make());
        assert.equal(answer.status, 401, label);
        const { type, title, status, detail } = answer.body as Record<string, unknown>;
        assert.deepEqual({ type, title, status, detail }, INVALID_CREDENTIALS, label);
      }
      const unverified = user.authenticator.get(await signInOptions(), { userVerified: false });
      assert.equal((await passkeyLogin(unverified)).status, 401, 'no user verification');

      const reasons = (await eventsOf(user.user.id, 'auth.passkey_login_failed')).map(
        (event) => (event.details as { reason: string }).reason,
      );
      // Replayed, unknown challenge; foreign origin, other RP id, no user verification.
      assert.deepEqual(reasons, [
        'unknown_challenge',
        'unknown_challenge',
        'verification_failed',
        'verification_failed',
        'verification_failed',
      ]);
    });

    it('refuses a counter that did not move forward (a cloned authenticator), and keeps the stored one', async () => {
      const user = await withPasskey({ step: 5 });
      assert.equal((await passkeyLogin(user.authenticator.get(await signInOptions()))).status, 200);
      for (const counter of [5, 3]) {
        const clone = user.authenticator.get(await signInOptions(), { counter });
        assert.equal((await passkeyLogin(clone)).status, 401, `counter ${counter}`);
      }
      const row = await t.dataSource.getRepository(Passkey).findOneByOrFail({ id: user.passkeyId });
      assert.equal(row.signCount, 5);
      const reasons = (await eventsOf(user.user.id, 'auth.passkey_login_failed')).map(
        (event) => (event.details as { reason: string }).reason,
      );
      assert.deepEqual(reasons, ['counter_not_increased', 'counter_not_increased']);
      assert.equal(
        (await passkeyLogin(user.authenticator.get(await signInOptions(), { counter: 6 }))).status,
        200,
      );
    });

    it('accepts an authenticator without a counter (always 0)', async () => {
      const user = await withPasskey({ step: 0 });
      for (let attempt = 0; attempt < 2; attempt += 1) {
        assert.equal(
          (await passkeyLogin(user.authenticator.get(await signInOptions()))).status,
          200,
        );
      }
    });

    it('spends a challenge once when 10 requests race with one assertion', async () => {
      const user = await withPasskey();
      const assertion = user.authenticator.get(await signInOptions());
      const answers = await Promise.all(Array.from({ length: 10 }, () => passkeyLogin(assertion)));
      assert.deepEqual(
        answers.map((answer) => answer.status).sort(),
        [200, 401, 401, 401, 401, 401, 401, 401, 401, 401],
      );
    });

    it('refuses a removed passkey and a deactivated account the same way', async () => {
      const removed = await withPasskey();
      await t
        .http()
        .delete(`/api/v1/users/me/passkeys/${removed.passkeyId}`)
        .set(bearer(removed.token))
        .send({ currentPassword: TEST_PASSWORD })
        .expect(204);
      const afterRemoval = await passkeyLogin(removed.authenticator.get(await signInOptions()));
      assert.equal(afterRemoval.status, 401);

      const inactive = await withPasskey();
      await t.dataSource.getRepository(User).update(inactive.user.id, { isActive: false });
      const refused = await passkeyLogin(inactive.authenticator.get(await signInOptions()));
      assert.equal(refused.status, 401);
      const { type, title, status, detail } = refused.body as Record<string, unknown>;
      assert.deepEqual({ type, title, status, detail }, INVALID_CREDENTIALS);
      const reasons = (await eventsOf(inactive.user.id, 'auth.passkey_login_failed')).map(
        (event) => (event.details as { reason: string }).reason,
      );
      assert.deepEqual(reasons, ['inactive_account']);
      assert.ok(await t.app.get(UsersService).findWithRoles(inactive.user.id));
    });
  });

  describe('second factor after a password, and step-up', () => {
    it('POST /auth/mfa/passkey-options: the user’s passkeys for a live mfa_token, 401 otherwise', async () => {
      const user = await withPasskey();
      const challenges = t.app.get(MfaChallenges);
      const { token } = await challenges.issueToken(user.user.id, ['pwd']);
      const options = await t
        .http()
        .post('/api/v1/auth/mfa/passkey-options')
        .send({ mfa_token: token })
        .expect(200);
      const body = options.body as PublicKeyCredentialRequestOptionsJSON;
      assert.deepEqual(
        body.allowCredentials?.map((credential) => credential.id),
        [user.authenticator.credentialId],
      );
      const stored = await challenges.findByToken(token);
      assert.equal(stored?.webauthnChallenge, body.challenge);

      for (const bad of ['A'.repeat(43), 'short']) {
        const refused = await t
          .http()
          .post('/api/v1/auth/mfa/passkey-options')
          .send({ mfa_token: bad });
        assert.equal(refused.status, 401, bad);
        assert.equal(
          (refused.body as { type: string }).type,
          'urn:problem:identity:invalid-mfa-token',
        );
      }
      const noPasskey = await createUserWithToken(t);
      const other = await challenges.issueToken(noPasskey.user.id, ['pwd']);
      const none = await t
        .http()
        .post('/api/v1/auth/mfa/passkey-options')
        .send({ mfa_token: other.token });
      assert.equal(none.status, 404);
    });

    it('verifySecondFactor: the attached challenge, a passkey of the login’s user; the caller spends the login once', async () => {
      const user = await withPasskey();
      const intruder = await withPasskey();
      const challenges = t.app.get(MfaChallenges);
      const service = t.app.get(PasskeyAuthentication);
      const { token } = await challenges.issueToken(user.user.id, ['pwd']);
      const optionsOf = async () =>
        (
          await t
            .http()
            .post('/api/v1/auth/mfa/passkey-options')
            .send({ mfa_token: token })
            .expect(200)
        ).body as PublicKeyCredentialRequestOptionsJSON;
      const login = async () => {
        const found = await challenges.findByToken(token);
        assert.ok(found);
        return found;
      };

      // Another account's passkey, a stale challenge (replaced by newer options), no challenge.
      assert.equal(
        await service.verifySecondFactor(
          await login(),
          intruder.authenticator.get(await optionsOf()),
        ),
        null,
      );
      const stale = user.authenticator.get(await optionsOf());
      await optionsOf();
      assert.equal(await service.verifySecondFactor(await login(), stale), null);

      const assertion = user.authenticator.get(await optionsOf());
      const row = await login();
      assert.deepEqual(await service.verifySecondFactor(row, assertion), {
        amr: ['pwd', 'hwk', 'mfa'],
        mfaAt: t.clock.now(),
      });
      // As /auth/mfa/verify does: the login is spent once; the same assertion then finds nothing.
      assert.equal(await challenges.spend(row.id), true);
      assert.equal(await challenges.findByToken(token), null);
      assert.equal(
        await service.verifySecondFactor({ ...row, usedAt: t.clock.now() }, assertion),
        null,
      );
      // A copy of the assertion replayed into a live row is refused by the counter.
      assert.equal(await service.verifySecondFactor(row, assertion), null);
    });

    it('over HTTP: /auth/mfa/verify takes the passkey after a password, counts a wrong one, and step-up takes one', async () => {
      const user = await withPasskey();
      const intruder = await withPasskey();
      const claims = (token: string) =>
        JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
          amr?: string[];
          mfa_time?: number;
        };
      const login = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ username: user.username, password: TEST_PASSWORD })
        .expect(200);
      const { mfa_token: mfaToken, methods } = login.body as {
        mfa_token: string;
        methods: string[];
      };
      // No recovery codes come with a passkey: none is offered.
      assert.deepEqual(methods, ['passkey']);
      const options = async () =>
        (
          await t
            .http()
            .post('/api/v1/auth/mfa/passkey-options')
            .send({ mfa_token: mfaToken })
            .expect(200)
        ).body as PublicKeyCredentialRequestOptionsJSON;
      const verify = (passkey: unknown) =>
        t.http().post('/api/v1/auth/mfa/verify').send({ mfa_token: mfaToken, passkey });

      // Another account's passkey: a wrong answer, audited and counted against the mfa_token.
      const wrong = await verify(intruder.authenticator.get(await options())).expect(401);
      assert.equal((wrong.body as { type: string }).type, 'urn:problem:identity:invalid-mfa-code');
      const failed = await eventsOf(user.user.id, 'mfa.failed');
      assert.deepEqual(
        failed.map((event) => (event.details as { method: string }).method),
        ['passkey'],
      );
      assert.equal((await t.app.get(MfaChallenges).findByToken(mfaToken))?.attempts, 1);

      const signed = user.authenticator.get(await options());
      const verified = await verify(signed).expect(200);
      const pair = verified.body as { access_token: string };
      assert.deepEqual(claims(pair.access_token).amr, ['pwd', 'hwk', 'mfa']);
      assert.equal(claims(pair.access_token).mfa_time, t.clock.nowSeconds());
      await t.http().get('/api/v1/users/me').set(bearer(pair.access_token)).expect(200);
      // Spent: the same assertion, or a fresh one, gets nothing more from this mfa_token.
      const again = await verify(signed).expect(401);
      assert.equal((again.body as { type: string }).type, 'urn:problem:identity:invalid-mfa-token');

      // Step-up of the password-only session that registered the passkey.
      const stepOptions = (
        await t
          .http()
          .post('/api/v1/auth/mfa/step-up/passkey-options')
          .set(bearer(user.token))
          .expect(200)
      ).body as PublicKeyCredentialRequestOptionsJSON;
      const stepAssertion = user.authenticator.get(stepOptions);
      const stepped = await t
        .http()
        .post('/api/v1/auth/mfa/step-up')
        .set(bearer(user.token))
        .send({ passkey: stepAssertion })
        .expect(200);
      assert.deepEqual(claims((stepped.body as { access_token: string }).access_token).amr, [
        'pwd',
        'hwk',
        'mfa',
      ]);
      const replay = await t
        .http()
        .post('/api/v1/auth/mfa/step-up')
        .set(bearer(user.token))
        .send({ passkey: stepAssertion })
        .expect(401);
      assert.equal((replay.body as { type: string }).type, 'urn:problem:identity:invalid-mfa-code');
    });

    it('verifyStepUp: a step-up challenge of this user, once', async () => {
      const user = await withPasskey({ synced: true });
      const other = await withPasskey();
      const service = t.app.get(PasskeyAuthentication);
      const stepUpOptions = async (token: string) =>
        (
          await t
            .http()
            .post('/api/v1/auth/mfa/step-up/passkey-options')
            .set(bearer(token))
            .expect(200)
        ).body as PublicKeyCredentialRequestOptionsJSON;
      const options = await stepUpOptions(user.token);
      assert.deepEqual(
        options.allowCredentials?.map((credential) => credential.id),
        [user.authenticator.credentialId],
      );
      const assertion = user.authenticator.get(options);
      assert.deepEqual(await service.verifyStepUp(user.user.id, assertion), {
        amr: ['swk'],
        mfaAt: t.clock.now(),
      });
      assert.equal(await service.verifyStepUp(user.user.id, assertion), null, 'spent');
      // Another user's step-up challenge, or a passkey login challenge, does not step this one up.
      assert.equal(
        await service.verifyStepUp(
          user.user.id,
          user.authenticator.get(await stepUpOptions(other.token)),
        ),
        null,
      );
      assert.equal(
        await service.verifyStepUp(user.user.id, user.authenticator.get(await signInOptions())),
        null,
      );
      assert.equal(
        await service.verifyStepUp(
          other.user.id,
          user.authenticator.get(await stepUpOptions(other.token)),
        ),
        null,
      );
      const noPasskey = await createUserWithToken(t);
      const none = await t
        .http()
        .post('/api/v1/auth/mfa/step-up/passkey-options')
        .set(bearer(noPasskey.token));
      assert.equal(none.status, 404);
    });
  });
});

describe('passkeys with MFA_ENABLED=false', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ env: { ...ENV, MFA_ENABLED: 'false' } });
  });
  after(() => t.close());

  it('answers 404 feature_disabled on every passkey route', async () => {
    const user = await createUserWithToken(t);
    const auth = { Authorization: `Bearer ${user.token}` };
    const id = randomUUID();
    const answers = await Promise.all([
      t
        .http()
        .post('/api/v1/users/me/passkeys/registration-options')
        .set(auth)
        .send({ currentPassword: TEST_PASSWORD }),
      t.http().post('/api/v1/users/me/passkeys').set(auth).send({ response: {} }),
      t.http().get('/api/v1/users/me/passkeys').set(auth),
      t.http().patch(`/api/v1/users/me/passkeys/${id}`).set(auth).send({ name: 'x' }),
      t.http().delete(`/api/v1/users/me/passkeys/${id}`).set(auth).send({}),
      t.http().post('/api/v1/auth/passkey/options'),
      t.http().post('/api/v1/auth/passkey/login').send({ response: {} }),
      t
        .http()
        .post('/api/v1/auth/mfa/passkey-options')
        .send({ mfa_token: 'A'.repeat(43) }),
      t.http().post('/api/v1/auth/mfa/step-up/passkey-options').set(auth),
    ]);
    for (const [index, answer] of answers.entries()) {
      assert.equal(answer.status, 404, `request ${index}`);
      assert.equal(
        (answer.body as { type: string }).type,
        'urn:problem:identity:feature-disabled',
        `request ${index}`,
      );
    }
  });
});

describe('rate limits of the passkey ceremonies of a signed-in user', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({
      env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_IP_PER_MINUTE: '4' },
    });
  });
  after(() => t.close());

  // Each call stores a challenge row: a stolen access token must not add them without bound.
  for (const path of [
    '/api/v1/auth/mfa/step-up/passkey-options',
    '/api/v1/users/me/passkeys/registration-options',
    '/api/v1/users/me/passkeys',
  ]) {
    it(`limits POST ${path} per address`, async () => {
      // The session through the service: a login over HTTP would count in the same bucket.
      const { access_token: token } = await passwordSession(t, await createUser(t));
      const statuses: number[] = [];
      for (let request = 0; request < 6; request += 1) {
        const answer = await t.http().post(path).set('Authorization', `Bearer ${token}`).send({});
        statuses.push(answer.status);
      }
      assert.ok(statuses.includes(429), statuses.join(','));
    });
  }
});
