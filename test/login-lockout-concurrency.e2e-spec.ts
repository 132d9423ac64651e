import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { PasswordHasher } from '../src/passwords/password-hasher.service';
import { User } from '../src/users/entities/user.entity';
import { createUser, TEST_PASSWORD } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

const THRESHOLD = 5;
const BASE_SECONDS = 60;
const LOCKOUT = {
  LOCKOUT_THRESHOLD: String(THRESHOLD),
  LOCKOUT_BASE_SECONDS: String(BASE_SECONDS),
  LOCKOUT_MAX_SECONDS: '900',
};
const WRONG = 'wrong-password-1';

const login = (t: TestApp, username: string, password: string) =>
  t.http().post('/api/v1/auth/login').send({ username, password });

/**
 * Watches the password hashers of `apps` and holds every verification until `inFlight` of them
 * have started: every attempt of a burst is then in flight at once, the worst case for a
 * check-then-count lockout. `real` counts verifications against an account's own hash (a locked
 * account or an unknown name is verified against the dummy hash).
 */
function watchHashers(apps: TestApp[], inFlight: number) {
  let started = 0;
  let open: () => void = () => undefined;
  const waiting: Array<{ count: number; resolve: () => void }> = [];
  const gate = new Promise<void>((resolve) => (open = resolve));
  const verified: string[] = [];
  const dummies: string[] = [];
  const mocks = apps.flatMap((t) => {
    const hasher = t.app.get(PasswordHasher);
    const verify = hasher.verify.bind(hasher);
    return [
      mock.method(hasher, 'verifyDummy', function (this: PasswordHasher, password: string) {
        dummies.push(password);
        return PasswordHasher.prototype.verifyDummy.call(this, password);
      }),
      mock.method(hasher, 'verify', async (hash: string, password: string) => {
        verified.push(password);
        started += 1;
        if (started >= inFlight) open();
        for (const waiter of waiting) if (started >= waiter.count) waiter.resolve();
        await gate;
        return verify(hash, password);
      }),
    ];
  });
  return {
    /** How many times `password` was verified against the account's real hash. */
    real(password?: string): number {
      const count = (list: string[]) =>
        list.filter((p) => password === undefined || p === password).length;
      return count(verified) - count(dummies);
    },
    /** Resolves once `count` verifications (real or dummy) have started. */
    reached(count: number): Promise<void> {
      return started >= count
        ? Promise.resolve()
        : new Promise((resolve) => waiting.push({ count, resolve }));
    },
    restore(): void {
      for (const m of mocks) m.mock.restore();
    },
  };
}

async function lockEvents(t: TestApp, userId: string): Promise<Array<{ seconds: number }>> {
  const rows = await t.dataSource.query<Array<{ details: string }>>(
    `SELECT details FROM audit_events WHERE type = 'user.locked' AND subject_user_id = ${
      t.database.kind === 'postgres' ? '$1' : '?'
    } ORDER BY sequence`,
    [userId],
  );
  return rows.map((row) => JSON.parse(row.details) as { seconds: number });
}

const row = (t: TestApp, id: string) => t.dataSource.getRepository(User).findOneByOrFail({ id });

const lockedForSeconds = (t: TestApp, user: User): number | null =>
  user.lockedUntil === null
    ? null
    : Math.round((user.lockedUntil.getTime() - t.clock.now().getTime()) / 1000);

/**
 * `size` parallel logins, spread over `apps` in turn, all wrong except the one at `rightAt`.
 * Returns the right one's status and how many real verifications there were.
 */
async function burst(apps: TestApp[], username: string, size: number, rightAt: number) {
  const hashers = watchHashers(apps, size);
  try {
    const responses = await Promise.all(
      Array.from({ length: size }, (_, index) =>
        login(apps[index % apps.length], username, index === rightAt ? TEST_PASSWORD : WRONG),
      ),
    );
    for (const [index, response] of responses.entries()) {
      if (index !== rightAt) assert.equal(response.status, 401, `attempt ${index}`);
    }
    return {
      rightStatus: responses[rightAt].status,
      rightVerified: hashers.real(TEST_PASSWORD) === 1,
      real: hashers.real(),
    };
  } finally {
    hashers.restore();
  }
}

for (const instances of [1, 2]) {
  describe(`lockout under concurrency, ${instances} instance(s) on one database`, () => {
    const apps: TestApp[] = [];
    before(async () => {
      const first = await createTestApp({ env: LOCKOUT });
      apps.push(first);
      if (instances === 2) {
        const second = await createTestApp({ env: LOCKOUT, database: first.database });
        // Each instance has its own injected clock: they show the same time and move together.
        second.clock.set(first.clock.now());
        apps.push(second);
      }
    });
    after(async () => {
      for (const t of apps.reverse()) await t.close();
    });
    const advance = (seconds: number) => {
      for (const t of apps) t.clock.advance(seconds);
    };

    for (const rightAt of [0, 39, 49]) {
      it(`50 parallel logins, the right password at #${rightAt + 1}: at most ${THRESHOLD} passwords checked, one lock of the base length`, async () => {
        const [t] = apps as [TestApp];
        const user = await createUser(t);
        const outcome = await burst(apps, user.username, 50, rightAt);
        assert.ok(outcome.real <= THRESHOLD, `${outcome.real} passwords checked`);
        // The right password gets in only if it was among the attempts counted before the lock.
        assert.equal(outcome.rightStatus, outcome.rightVerified ? 200 : 401);
        const events = await lockEvents(t, user.user.id);
        assert.deepEqual(events, [{ seconds: BASE_SECONDS }]);
        const after = await row(t, user.user.id);
        if (!outcome.rightVerified) {
          assert.equal(after.failedLoginCount, THRESHOLD);
          assert.equal(lockedForSeconds(t, after), BASE_SECONDS);
          // Refused once locked, however right the password.
          await login(t, user.username, TEST_PASSWORD).expect(401);
          // After the lock, the next failure locks for twice as long.
          advance(BASE_SECONDS + 1);
          await login(t, user.username, WRONG).expect(401);
          assert.equal(lockedForSeconds(t, await row(t, user.user.id)), BASE_SECONDS * 2);
          assert.deepEqual(await lockEvents(t, user.user.id), [
            { seconds: BASE_SECONDS },
            { seconds: BASE_SECONDS * 2 },
          ]);
        } else {
          // Its success undid itself and the failures before it; later ones keep their lock.
          assert.ok(after.failedLoginCount < THRESHOLD);
          assert.equal(after.failedLoginCount === 0, after.lockedUntil === null);
        }
      });
    }

    it('29 wrong and 1 right in parallel: 401 for the right one unless it was counted before the lock', async () => {
      const [t] = apps as [TestApp];
      const user = await createUser(t);
      const outcome = await burst(apps, user.username, 30, 29);
      assert.ok(outcome.real <= THRESHOLD, `${outcome.real} passwords checked`);
      assert.equal(outcome.rightStatus, outcome.rightVerified ? 200 : 401);
      assert.equal((await lockEvents(t, user.user.id)).length, 1);
    });

    it('a success undoes only itself and the failures before it; a lock set by later attempts stays', async () => {
      const [t, other = t] = apps as [TestApp, TestApp?];
      const user = await createUser(t);
      await login(t, user.username, WRONG).expect(401);
      // The right attempt is counted (rank 2) and held in its verification; then four wrong
      // attempts are counted after it (ranks 3..5, the fifth locks) and more are refused.
      const hashers = watchHashers(apps, 1 + 6);
      try {
        const right = login(t, user.username, TEST_PASSWORD).then((r) => r);
        await hashers.reached(1);
        const wrong = Array.from({ length: 6 }, () =>
          login(other, user.username, WRONG).then((r) => r),
        );
        assert.equal((await right).status, 200);
        for (const response of await Promise.all(wrong)) assert.equal(response.status, 401);
        assert.equal(hashers.real(), THRESHOLD - 1);
      } finally {
        hashers.restore();
      }
      const after = await row(t, user.user.id);
      assert.equal(after.failedLoginCount, THRESHOLD - 2);
      assert.equal(lockedForSeconds(t, after), BASE_SECONDS);
      await login(t, user.username, TEST_PASSWORD).expect(401);

      // The next lock, after this one expired, is twice as long; a success then resets all.
      advance(BASE_SECONDS + 1);
      await login(other, user.username, WRONG).expect(401); // 4
      await login(t, user.username, WRONG).expect(401); // 5: locked again, at the base length
      advance(BASE_SECONDS + 1);
      await login(other, user.username, WRONG).expect(401); // 6: twice the base
      assert.equal(lockedForSeconds(t, await row(t, user.user.id)), BASE_SECONDS * 2);
      assert.deepEqual(
        (await lockEvents(t, user.user.id)).map((event) => event.seconds),
        [BASE_SECONDS, BASE_SECONDS, BASE_SECONDS * 2],
      );
      advance(BASE_SECONDS * 2 + 1);
      await login(t, user.username, TEST_PASSWORD).expect(200);
      const reset = await row(t, user.user.id);
      assert.deepEqual([reset.failedLoginCount, reset.lockedUntil], [0, null]);
    });

    it('a success with no attempt in flight resets the count and the lock', async () => {
      const [t] = apps as [TestApp];
      const user = await createUser(t);
      for (let i = 0; i < THRESHOLD - 1; i++) await login(t, user.username, WRONG).expect(401);
      await login(t, user.username, TEST_PASSWORD).expect(200);
      const reset = await row(t, user.user.id);
      assert.deepEqual([reset.failedLoginCount, reset.lockedUntil], [0, null]);
    });
  });
}
