import { Metrics } from '../metrics/metrics.service';
import assert from 'node:assert/strict';
import { userEntity } from '../../test/helpers/user-entity';
import { beforeEach, describe, it } from 'node:test';
import { TestClock } from '../../test/helpers/test-clock';
import type { RateLimiterService } from '../abuse/rate-limiter.service';
import type { AuditService, NewAuditEvent } from '../audit/audit.service';
import type { RequestContext } from '../common/request-context';
import { DomainError } from '../common/errors/domain-error';
import type { AppConfig } from '../config/app-config';
import type { Transaction, Transactions } from '../database/database';
import { PasswordHasher } from '../passwords/password-hasher.service';
import type { SessionsService } from '../sessions/sessions.service';
import type { UserWithRoles } from '../users/account-rows';
import { RoleName } from '../access/role-name';
import { User } from '../users/entities/user.entity';
import { LockoutService } from '../users/lockout.service';
import { INVALID_CREDENTIALS_MESSAGE, PasswordCheck } from '../users/password-check.service';
import type { LockoutLimits, LoginAccount, UsersRepository } from '../users/users.repository';
import { UsersService } from '../users/users.service';
import { AuthService } from './auth.service';
import type { AccessTokenService } from './tokens/access-token.service';
import type { EmailVerificationService } from '../account-lifecycle/email-verification.service';
import type { PasswordResetService } from '../account-lifecycle/password-reset.service';
import type { MfaChallenges } from '../mfa/challenges/mfa-challenges';
import type { SecondFactors } from '../mfa/second-factors';

const LOCKOUT = { threshold: 3, baseSeconds: 60, maxSeconds: 3600 };
const CURRENT_ARGON2 = { memoryKib: 2048, timeCost: 1, parallelism: 1 };
const OLD_ARGON2 = { memoryKib: 1024, timeCost: 1, parallelism: 1 };
const CONTEXT: RequestContext = { requestId: 'spec', ip: '203.0.113.1', userAgent: 'spec' };
const PASSWORD = 'correct horse battery staple';

interface StoredAccount {
  user: User;
  roles: RoleName[];
  passwordHash: string;
  failedLoginCount: number;
  lockedUntil: Date | null;
}

/**
 * The users aggregate in memory: the reads of a login and the lockout statements' rules
 * (users.repository.ts), counting every attempt statement run, an unknown id's too.
 */
class InMemoryUsers {
  readonly accounts = new Map<string, StoredAccount>();
  attempts = 0;

  add(username: string, passwordHash: string, isActive = true): StoredAccount {
    const now = new Date();
    const user = userEntity(username, { isActive, createdAt: now });
    const stored = {
      user,
      roles: [RoleName.User],
      passwordHash,
      failedLoginCount: 0,
      lockedUntil: null,
    };
    this.accounts.set(user.id, stored);
    return stored;
  }

  findLoginAccount(kind: 'username' | 'email', value: string): Promise<LoginAccount | null> {
    const found = [...this.accounts.values()].find((stored) => stored.user[kind] === value);
    return Promise.resolve(
      found === undefined ? null : { account: accountOf(found), passwordHash: found.passwordHash },
    );
  }

  findWithRoles(id: string): Promise<UserWithRoles | null> {
    const found = this.accounts.get(id);
    return Promise.resolve(found === undefined ? null : accountOf(found));
  }

  updatePasswordHash(id: string, passwordHash: string): Promise<void> {
    const found = this.accounts.get(id);
    if (found !== undefined) found.passwordHash = passwordHash;
    return Promise.resolve();
  }

  countAttempt(id: string, now: Date, threshold: number): Promise<number | null> {
    this.attempts += 1;
    const found = this.accounts.get(id);
    if (found === undefined || locked(found, now) || found.failedLoginCount + 1 >= threshold) {
      return Promise.resolve(null);
    }
    found.failedLoginCount += 1;
    return Promise.resolve(found.failedLoginCount);
  }

  reserveAttempt(
    _tx: Transaction,
    id: string,
    now: Date,
    limits: LockoutLimits,
  ): Promise<number | null> {
    const found = this.accounts.get(id);
    if (found === undefined || locked(found, now)) return Promise.resolve(null);
    found.failedLoginCount += 1;
    if (found.failedLoginCount >= limits.threshold) {
      const seconds = Math.min(
        limits.maxSeconds,
        limits.baseSeconds * 2 ** Math.min(found.failedLoginCount - limits.threshold, 30),
      );
      found.lockedUntil = new Date(now.getTime() + seconds * 1000);
    }
    return Promise.resolve(found.failedLoginCount);
  }

  withdrawAttempt(id: string, rank: number): Promise<void> {
    const found = this.accounts.get(id);
    if (found !== undefined) {
      if (found.failedLoginCount === rank) found.lockedUntil = null;
      found.failedLoginCount = Math.max(0, found.failedLoginCount - 1);
    }
    return Promise.resolve();
  }

  releaseAttempts(id: string, rank: number): Promise<void> {
    const found = this.accounts.get(id);
    if (found !== undefined) {
      if (found.failedLoginCount <= rank) found.lockedUntil = null;
      found.failedLoginCount = Math.max(0, found.failedLoginCount - rank);
    }
    return Promise.resolve();
  }
}

function locked(stored: StoredAccount, now: Date): boolean {
  return stored.lockedUntil !== null && stored.lockedUntil > now;
}

function accountOf(stored: StoredAccount): UserWithRoles {
  return { user: Object.assign(new User(), stored.user), roles: [...stored.roles] };
}

/** The real hasher, cheap, remembering which hashes it verified a password against. */
class RecordingHasher extends PasswordHasher {
  readonly verified: string[] = [];

  override verify(hash: string, password: string): Promise<boolean> {
    this.verified.push(hash);
    return super.verify(hash, password);
  }
}

function configWith(argon2: typeof CURRENT_ARGON2): AppConfig {
  return { lockout: LOCKOUT, argon2, mfa: { enabled: true } } as unknown as AppConfig;
}

describe('AuthService.authenticate', () => {
  let users: InMemoryUsers;
  let hasher: RecordingHasher;
  let clock: TestClock;
  let events: NewAuditEvent[];
  let auth: AuthService;
  let metrics: Metrics;
  /** The ids of users with a second factor enrolled. */
  let enrolled: Set<string>;

  beforeEach(async () => {
    users = new InMemoryUsers();
    enrolled = new Set();
    clock = new TestClock();
    events = [];
    const config = configWith(CURRENT_ARGON2);
    hasher = new RecordingHasher(config);
    await hasher.onModuleInit();
    const repository = users as unknown as UsersRepository;
    const transactions = {
      run: <T>(work: (tx: Transaction) => Promise<T>) => work({} as Transaction),
    } as unknown as Transactions;
    const audit = {
      record: (_tx: Transaction, event: NewAuditEvent) => {
        events.push(event);
        return Promise.resolve();
      },
    } as unknown as AuditService;
    const limiter = { consumeAccount: () => Promise.resolve() } as unknown as RateLimiterService;
    const usersService = new UsersService(repository, transactions, hasher);
    metrics = new Metrics();
    const lockout = new LockoutService(repository, transactions, clock, config, audit, metrics);
    const passwords = new PasswordCheck(usersService, hasher, lockout, metrics);
    auth = new AuthService(
      usersService,
      hasher,
      {} as AccessTokenService,
      {} as SessionsService,
      config,
      clock,
      audit,
      passwords,
      limiter,
      transactions,
      metrics,
      {} as EmailVerificationService,
      {} as PasswordResetService,
      {
        methodsOf: (userId: string) => Promise.resolve(enrolled.has(userId) ? ['totp'] : []),
      } as unknown as SecondFactors,
      {} as MfaChallenges,
    );
  });

  async function refusal(loginName: string, password: string): Promise<DomainError> {
    const error = await auth.authenticate(loginName, password, CONTEXT).then(
      () => assert.fail('the login succeeded'),
      (thrown: unknown) => thrown,
    );
    assert.ok(error instanceof DomainError);
    return error;
  }

  /** The value of a metric of `metrics` (summed over the series matching `labels`). */
  async function counted(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = metrics.registry.getSingleMetric(name);
    assert.ok(metric !== undefined, `no metric ${name}`);
    const { values } = await metric.get();
    return values
      .filter((value) => Object.entries(labels).every(([key, x]) => value.labels[key] === x))
      .reduce((sum, value) => sum + value.value, 0);
  }

  it('refuses an unknown name, a wrong password and an inactive account alike, each counted', async () => {
    users.add('alice', await hasher.hash(PASSWORD));
    users.add('bob', await hasher.hash(PASSWORD), false);

    const answers = [];
    for (const [name, password] of [
      ['nobody', PASSWORD],
      ['alice', 'not the password'],
      ['bob', PASSWORD],
    ] as const) {
      const before = users.attempts;
      const error = await refusal(name, password);
      answers.push({ code: error.code, message: error.message });
      assert.equal(users.attempts, before + 1, `${name}: one lockout attempt counted`);
    }
    const expected = { code: 'invalid_credentials', message: INVALID_CREDENTIALS_MESSAGE };
    assert.deepEqual(answers, [expected, expected, expected]);
    assert.deepEqual(
      events.map((event) => event.details?.reason),
      ['unknown_account', 'wrong_password', 'inactive'],
    );
    const outcomes = 'identity_login_attempts_total';
    assert.equal(await counted(outcomes, { outcome: 'unknown_name' }), 1);
    assert.equal(await counted(outcomes, { outcome: 'wrong_password' }), 1);
    assert.equal(await counted(outcomes, { outcome: 'inactive' }), 1);
    assert.equal(await counted(outcomes, { outcome: 'success' }), 0);
    await auth.authenticate('alice', PASSWORD, CONTEXT);
    assert.equal(await counted(outcomes, { outcome: 'success' }), 1);
  });

  it('keeps a wrong password counted and releases an inactive account’s right one', async () => {
    const alice = users.add('alice', await hasher.hash(PASSWORD));
    const bob = users.add('bob', await hasher.hash(PASSWORD), false);
    await refusal('alice', 'not the password');
    await refusal('bob', PASSWORD);
    assert.equal(alice.failedLoginCount, 1);
    assert.equal(bob.failedLoginCount, 0);
  });

  it('re-hashes a hash with old argon2 parameters when the password is right', async () => {
    const oldHash = await new PasswordHasher(configWith(OLD_ARGON2)).hash(PASSWORD);
    const alice = users.add('alice', oldHash);
    assert.ok(hasher.needsRehash(oldHash));

    const account = await auth.authenticate('alice', PASSWORD, CONTEXT);

    assert.equal(account.user.id, alice.user.id);
    assert.notEqual(alice.passwordHash, oldHash);
    assert.equal(hasher.needsRehash(alice.passwordHash), false);
    assert.ok(await hasher.verify(alice.passwordHash, PASSWORD));
  });

  it('keeps an old hash when the password is wrong', async () => {
    const oldHash = await new PasswordHasher(configWith(OLD_ARGON2)).hash(PASSWORD);
    const alice = users.add('alice', oldHash);
    await refusal('alice', 'not the password');
    assert.equal(alice.passwordHash, oldHash);
  });

  it('refuses a locked account without checking the password, right or not', async () => {
    const alice = users.add('alice', await hasher.hash(PASSWORD));
    for (let attempt = 0; attempt < LOCKOUT.threshold; attempt += 1) {
      await refusal('alice', 'not the password');
    }
    assert.ok(alice.lockedUntil !== null && alice.lockedUntil > clock.now());
    assert.ok(events.some((event) => event.type === 'user.locked'));
    hasher.verified.length = 0;

    const error = await refusal('alice', PASSWORD);

    assert.equal(error.code, 'invalid_credentials');
    assert.equal(error.message, INVALID_CREDENTIALS_MESSAGE);
    assert.equal(hasher.verified.includes(alice.passwordHash), false);
    assert.equal(events.at(-1)?.details?.reason, 'locked');
    assert.equal(await counted('identity_lockouts_total'), 1);
    assert.equal(await counted('identity_login_attempts_total', { outcome: 'locked' }), 1);
    // The refused attempt did not extend the lock.
    assert.equal(alice.failedLoginCount, LOCKOUT.threshold);
  });

  it('lets the right password in once the lock has expired, and resets the count', async () => {
    const alice = users.add('alice', await hasher.hash(PASSWORD));
    for (let attempt = 0; attempt < LOCKOUT.threshold; attempt += 1) {
      await refusal('alice', 'not the password');
    }
    clock.advance(LOCKOUT.baseSeconds);

    const account = await auth.authenticate('alice', PASSWORD, CONTEXT);

    assert.equal(account.user.id, alice.user.id);
    assert.equal(alice.failedLoginCount, 0);
    assert.equal(alice.lockedUntil, null);
  });

  it('clears earlier failures on success', async () => {
    const alice = users.add('alice', await hasher.hash(PASSWORD));
    await refusal('alice', 'not the password');
    await refusal('alice', 'not the password');
    assert.equal(alice.failedLoginCount, 2);

    await auth.authenticate('ALICE@example.com', PASSWORD, CONTEXT);

    assert.equal(alice.failedLoginCount, 0);
    assert.equal(alice.lockedUntil, null);
  });

  it('keeps earlier failures when a second factor must follow: only its own attempt is undone', async () => {
    const alice = users.add('alice', await hasher.hash(PASSWORD));
    enrolled.add(alice.user.id);
    await refusal('alice', 'not the password');
    await refusal('alice', 'not the password');

    await auth.authenticate('alice', PASSWORD, CONTEXT);

    // The second factor's success (POST /auth/mfa/verify) releases them, not the password.
    assert.equal(alice.failedLoginCount, 2);
    assert.equal(alice.lockedUntil, null);
  });
});
