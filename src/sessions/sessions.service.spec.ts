import { Metrics } from '../metrics/metrics.service';
import { Logger } from '@nestjs/common';
import assert from 'node:assert/strict';
import { userEntity } from '../../test/helpers/user-entity';
import { before, describe, it } from 'node:test';
import { TestClock } from '../../test/helpers/test-clock';
import type { AuditService, NewAuditEvent } from '../audit/audit.service';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { loadAppConfig } from '../config/app-config';
import type { Transaction, Transactions } from '../database/database';
import type { UserWithRoles } from '../users/account-rows';
import { RoleName } from '../access/role-name';
import { User } from '../users/entities/user.entity';
import { Session, type SessionRevokeReason } from './session.entity';
import type {
  NewRefreshToken,
  PresentedToken,
  SessionsRepository,
  SessionsToRevoke,
} from './sessions.repository';
import { hashRefreshToken, isSessionLive, SessionsService } from './sessions.service';
import { AccountEvents } from '../users/account-events';

// SessionsService at the repository seam: the refresh flow (rotate) against an in-memory
// repository. The same flow against both databases is in test/sessions.e2e-spec.ts.

interface StoredToken {
  id: string;
  sessionId: string;
  tokenHash: string;
  parentId: string | null;
  createdAt: Date;
  rotatedAt: Date | null;
}

type RepositoryApi = { [K in keyof SessionsRepository]: SessionsRepository[K] };

/** What the rows of sessions and refresh_tokens would hold; reads hand out copies. */
class FakeSessionsRepository implements RepositoryApi {
  readonly sessions = new Map<string, Session>();
  readonly tokens: StoredToken[] = [];
  readonly accounts = new Map<string, UserWithRoles>();
  /** Runs just before a claim: lets a test have another rotation get there first. */
  beforeClaim: ((tokenId: string) => Promise<void>) | undefined;

  findPresentedToken(_tx: Transaction, tokenHash: string): Promise<PresentedToken | null> {
    const token = this.tokens.find((candidate) => candidate.tokenHash === tokenHash);
    const session = token && this.sessions.get(token.sessionId);
    const account = session && this.accounts.get(session.userId);
    if (token === undefined || session === undefined || account === undefined) {
      return Promise.resolve(null);
    }
    return Promise.resolve({
      tokenId: token.id,
      rotatedAt: token.rotatedAt,
      session: copy(session),
      account,
    });
  }

  async claimToken(_tx: Transaction, tokenId: string, now: Date): Promise<boolean> {
    await this.beforeClaim?.(tokenId);
    const token = this.tokens.find((candidate) => candidate.id === tokenId);
    if (token === undefined || token.rotatedAt !== null) return false;
    token.rotatedAt = now;
    return true;
  }

  insertSession(
    _tx: Transaction,
    session: Session,
    token: { id: string; tokenHash: string },
  ): Promise<void> {
    this.sessions.set(session.id, copy(session));
    this.tokens.push({
      ...token,
      sessionId: session.id,
      parentId: null,
      createdAt: session.createdAt,
      rotatedAt: null,
    });
    return Promise.resolve();
  }

  insertToken(_tx: Transaction, token: NewRefreshToken): Promise<void> {
    const { now, ...rest } = token;
    this.tokens.push({ ...rest, createdAt: now, rotatedAt: null });
    return Promise.resolve();
  }

  touchSession(
    _tx: Transaction,
    session: Pick<Session, 'id' | 'lastUsedAt' | 'idleExpiresAt' | 'ip' | 'userAgent'>,
  ): Promise<void> {
    const stored = this.sessions.get(session.id);
    if (stored !== undefined) {
      const { lastUsedAt, idleExpiresAt, ip, userAgent } = session;
      Object.assign(stored, { lastUsedAt, idleExpiresAt, ip, userAgent });
    }
    return Promise.resolve();
  }

  recordSecondFactor(
    _tx: Transaction,
    sessionId: string,
    proof: { amr: string; mfaAt: Date },
  ): Promise<boolean> {
    const stored = this.sessions.get(sessionId);
    if (stored === undefined || stored.revokedAt !== null) return Promise.resolve(false);
    Object.assign(stored, proof);
    return Promise.resolve(true);
  }

  deleteUnrotatedTokens(_tx: Transaction, sessionId: string): Promise<void> {
    const kept = this.tokens.filter((t) => t.sessionId !== sessionId || t.rotatedAt !== null);
    this.tokens.splice(0, this.tokens.length, ...kept);
    return Promise.resolve();
  }

  findByOidcSession(uid: string): Promise<Session | null> {
    const session = [...this.sessions.values()].find(
      (candidate) => candidate.oidcSessionUid === uid && candidate.revokedAt === null,
    );
    return Promise.resolve(session === undefined ? null : copy(session));
  }

  linkOidcSession(_tx: Transaction, sessionId: string, uid: string, now: Date): Promise<void> {
    for (const session of this.sessions.values()) {
      if (
        session.oidcSessionUid === uid &&
        session.id !== sessionId &&
        session.revokedAt === null
      ) {
        Object.assign(session, { revokedAt: now, revokeReason: 'replaced' });
      }
    }
    const linked = this.sessions.get(sessionId);
    if (linked !== undefined) linked.oidcSessionUid = uid;
    return Promise.resolve();
  }

  findSession(sessionId: string): Promise<Session | null> {
    const session = this.sessions.get(sessionId);
    return Promise.resolve(session === undefined ? null : copy(session));
  }

  findLive(userId: string, now: Date): Promise<Session[]> {
    return Promise.resolve(
      [...this.sessions.values()]
        .filter((session) => session.userId === userId && isSessionLive(session, now))
        .sort((a, b) => b.lastUsedAt.getTime() - a.lastUsedAt.getTime())
        .map(copy),
    );
  }

  revoke(
    _tx: Transaction | undefined,
    which: SessionsToRevoke,
    reason: SessionRevokeReason,
    now: Date,
  ): Promise<number> {
    let revoked = 0;
    for (const session of this.sessions.values()) {
      const named =
        'sessionId' in which
          ? session.id === which.sessionId &&
            (which.userId === undefined || session.userId === which.userId)
          : session.userId === which.userId && session.id !== which.exceptSessionId;
      if (!named || session.revokedAt !== null) continue;
      session.revokedAt = now;
      session.revokeReason = reason;
      revoked += 1;
    }
    return Promise.resolve(revoked);
  }

  tokenOf(refreshToken: string): StoredToken | undefined {
    return this.tokens.find((token) => token.tokenHash === hashRefreshToken(refreshToken));
  }
}

function copy(session: Session): Session {
  return Object.assign(new Session(), session);
}

const CLIENT: RequestContext = { requestId: 'r-1', ip: '203.0.113.7', userAgent: 'spec/1.0' };
const LATER_CLIENT: RequestContext = {
  requestId: 'r-2',
  ip: '198.51.100.2',
  userAgent: 'spec/2.0',
};

function setup(env: Record<string, string> = {}) {
  const repository = new FakeSessionsRepository();
  const transactions = {
    run: <T>(work: (tx: Transaction) => Promise<T>) => work({} as Transaction),
  } as unknown as Transactions;
  const events: NewAuditEvent[] = [];
  const audit = {
    record: (_tx: Transaction, event: NewAuditEvent) => {
      events.push(event);
      return Promise.resolve();
    },
  } as unknown as AuditService;
  const clock = new TestClock();
  const config = loadAppConfig(env);
  const accountEvents = new AccountEvents();
  const service = new SessionsService(
    repository as unknown as SessionsRepository,
    transactions,
    audit,
    clock,
    config,
    accountEvents,
    new Metrics(),
  );
  const user = userEntity('ada', { createdAt: clock.now() });
  repository.accounts.set(user.id, { user, roles: [RoleName.User] });
  return { repository, events, clock, config, service, user, accountEvents };
}

async function assertInvalidGrant(attempt: Promise<unknown>): Promise<void> {
  await assert.rejects(
    attempt,
    (error: unknown) => error instanceof DomainError && error.code === 'invalid_refresh_token',
  );
}

describe('SessionsService.rotate', () => {
  before(() => {
    Logger.overrideLogger(false); // the reuse warning
  });

  it('refuses a token it never issued', async () => {
    const { service, repository, events, user } = setup();
    const started = await service.start(user.id, CLIENT);
    await assertInvalidGrant(service.rotate('not-a-token-we-issued', CLIENT));
    await assertInvalidGrant(service.rotate(hashRefreshToken(started.refreshToken), CLIENT));
    assert.deepEqual(
      repository.tokens.map((token) => token.rotatedAt),
      [null],
    );
    assert.deepEqual(
      events.map((event) => event.type),
      ['auth.login_succeeded'],
    );
  });

  it('exchanges a valid token for a new one, marking the old one rotated', async () => {
    const { service, repository, clock, config, user } = setup();
    const started = await service.start(user.id, CLIENT);
    clock.advance(120);
    const now = clock.now();

    const rotated = await service.rotate(started.refreshToken, LATER_CLIENT);

    assert.notEqual(rotated.refreshToken, started.refreshToken);
    assert.equal(rotated.session.id, started.session.id);
    assert.equal(rotated.account.user.id, user.id);
    assert.deepEqual(rotated.account.roles, [RoleName.User]);
    const old = repository.tokenOf(started.refreshToken);
    const successor = repository.tokenOf(rotated.refreshToken);
    assert.equal(old?.rotatedAt?.getTime(), now.getTime());
    assert.equal(successor?.parentId, old?.id);
    assert.equal(successor?.rotatedAt, null);
    const session = repository.sessions.get(started.session.id);
    assert.equal(session?.lastUsedAt.getTime(), now.getTime());
    assert.equal(
      session?.idleExpiresAt.getTime(),
      now.getTime() + config.refresh.idleTtlSeconds * 1000,
    );
    assert.equal(session?.ip, LATER_CLIENT.ip);
    assert.equal(session?.userAgent, LATER_CLIENT.userAgent);
  });

  it('refuses the old token inside the grace window but keeps the session (another tab won)', async () => {
    const { service, repository, events, clock, config, user } = setup();
    const started = await service.start(user.id, CLIENT);
    const rotated = await service.rotate(started.refreshToken, CLIENT);
    clock.advance(config.refresh.reuseGraceSeconds - 1);

    await assertInvalidGrant(service.rotate(started.refreshToken, CLIENT));

    assert.equal(repository.sessions.get(started.session.id)?.revokedAt, null);
    assert.ok(!events.some((event) => event.type === 'session.refresh_token_reused'));
    await service.rotate(rotated.refreshToken, CLIENT);
  });

  it('treats the old token after the grace window as reuse: the session is revoked and audited', async () => {
    const { service, repository, events, clock, config, user } = setup();
    const started = await service.start(user.id, CLIENT);
    const rotated = await service.rotate(started.refreshToken, CLIENT);
    clock.advance(config.refresh.reuseGraceSeconds + 1);

    await assertInvalidGrant(service.rotate(started.refreshToken, CLIENT));

    const session = repository.sessions.get(started.session.id);
    assert.equal(session?.revokeReason, 'refresh_token_reuse');
    assert.equal(session?.revokedAt?.getTime(), clock.now().getTime());
    const reused = events.filter((event) => event.type === 'session.refresh_token_reused');
    assert.deepEqual(reused, [
      {
        type: 'session.refresh_token_reused',
        actorId: null,
        subjectUserId: user.id,
        details: {
          sessionId: started.session.id,
          tokenId: repository.tokenOf(started.refreshToken)?.id,
        },
      },
    ]);
    // The successor dies with its session.
    await assertInvalidGrant(service.rotate(rotated.refreshToken, CLIENT));
  });

  it('refuses the loser of a race for one token, leaving the winner one live successor', async () => {
    const { service, repository, events, user } = setup();
    const started = await service.start(user.id, CLIENT);
    let winner: Promise<{ refreshToken: string }> | undefined;
    // Another rotation of the same token claims it between this one's read and its claim.
    repository.beforeClaim = async () => {
      if (winner !== undefined) return;
      winner = service.rotate(started.refreshToken, CLIENT);
      await winner;
    };

    await assertInvalidGrant(service.rotate(started.refreshToken, CLIENT));

    const won = await winner;
    assert.ok(won);
    const parent = repository.tokenOf(started.refreshToken);
    assert.equal(repository.tokens.filter((token) => token.parentId === parent?.id).length, 1);
    assert.equal(repository.sessions.get(started.session.id)?.revokedAt, null);
    assert.ok(!events.some((event) => event.type === 'session.refresh_token_reused'));
    repository.beforeClaim = undefined;
    await service.rotate(won.refreshToken, CLIENT);
  });

  it('refuses a session idle for longer than REFRESH_IDLE_TTL', async () => {
    const { service, repository, clock, config, user } = setup();
    const started = await service.start(user.id, CLIENT);
    clock.advance(config.refresh.idleTtlSeconds + 1);

    await assertInvalidGrant(service.rotate(started.refreshToken, CLIENT));
    assert.equal(repository.tokenOf(started.refreshToken)?.rotatedAt, null);
  });

  it('refuses a session past its absolute lifetime, however recently it was used', async () => {
    const { service, clock, user } = setup({
      REFRESH_IDLE_TTL: '3600',
      REFRESH_ABSOLUTE_TTL: '7200',
    });
    let refreshToken = (await service.start(user.id, CLIENT)).refreshToken;
    // Used every 50 minutes: never idle for the hour REFRESH_IDLE_TTL allows.
    for (const _ of [1, 2]) {
      clock.advance(3000);
      refreshToken = (await service.rotate(refreshToken, CLIENT)).refreshToken;
    }
    clock.advance(7200 - 6000 + 1); // 20 minutes after the last use, past the two hours

    await assertInvalidGrant(service.rotate(refreshToken, CLIENT));
  });

  it('refuses a revoked session (logout) without counting it as reuse', async () => {
    const { service, events, user } = setup();
    const started = await service.start(user.id, CLIENT);
    await service.logout(user.id, started.session.id, CLIENT);

    await assertInvalidGrant(service.rotate(started.refreshToken, CLIENT));
    assert.ok(!events.some((event) => event.type === 'session.refresh_token_reused'));
  });

  it('refuses a deactivated user', async () => {
    const { service, repository, user } = setup();
    const started = await service.start(user.id, CLIENT);
    repository.accounts.set(user.id, {
      user: Object.assign(new User(), { ...user, isActive: false }),
      roles: [],
    });

    await assertInvalidGrant(service.rotate(started.refreshToken, CLIENT));
    assert.equal(repository.tokenOf(started.refreshToken)?.rotatedAt, null);
  });

  it('ends every session of an account when the account is deactivated', async () => {
    const { service, accountEvents, user } = setup();
    const first = await service.start(user.id, CLIENT);
    const second = await service.start(user.id, CLIENT);

    await accountEvents.publish({} as Transaction, { type: 'deactivated', userId: user.id });

    await assertInvalidGrant(service.rotate(first.refreshToken, CLIENT));
    await assertInvalidGrant(service.rotate(second.refreshToken, CLIENT));
  });
});
