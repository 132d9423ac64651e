import { Injectable } from '@nestjs/common';
import { RateLimiterService } from '../../abuse/rate-limiter.service';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import type { SignInProof } from '../../access/sign-in-proof';
import { AuditService } from '../../audit/audit.service';
import { Clock } from '../../common/clock/clock';
import { DomainError } from '../../common/errors/domain-error';
import { foreignKeyViolation } from '../../common/errors/unique-violation';
import type { RequestContext } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { type Transaction, Transactions } from '../../database/database';
import { INVALID_MFA_TOKEN_MESSAGE, MfaChallenges } from '../../mfa/challenges/mfa-challenges';
import { PasskeyAuthentication } from '../../mfa/passkeys/passkey-authentication';
import { RecoveryCodes } from '../../mfa/recovery-codes/recovery-codes';
import { TotpFactors } from '../../mfa/totp/totp-factors';
import { proofOf, SessionsService } from '../../sessions/sessions.service';
import { LockoutService, type Reservation } from '../../users/lockout.service';
import { INVALID_CREDENTIALS_MESSAGE } from '../../users/password-check.service';
import { UsersService } from '../../users/users.service';
import { AuthService, type IssuedTokenPair } from '../auth.service';

/**
 * What a client answers a second-factor challenge with: a TOTP code, a recovery code, or a
 * passkey assertion (navigator.credentials.get() for the options of POST
 * /auth/mfa/passkey-options or /auth/mfa/step-up/passkey-options).
 */
export type SecondFactorAnswer =
  | { method: 'totp'; code: string }
  | { method: 'recovery_code'; code: string }
  | { method: 'passkey'; response: object };

/** The `amr` values (RFC 8176) a proven code adds; `mfa`: more than one factor. */
const AMR_OF: Record<'totp' | 'recovery_code', string> = {
  totp: 'otp',
  // RFC 8176 has no value for a one-time look-up secret; ours says what it was.
  recovery_code: 'recovery_code',
};

const INVALID_MFA_CODE = 'The code is wrong or was already used';

/** Thrown inside a transaction to roll back what a wrong answer must not spend. */
class WrongAnswer extends Error {}

/**
 * The second step of a login (POST /auth/mfa/verify) and step-up in a live session
 * (POST /auth/mfa/step-up). Every answer is counted against the account's lockout before it is
 * checked, as a password is (LockoutService.reserve); a right one releases it. The challenge is
 * spent, the code checked and the session started in one transaction: of concurrent verifies
 * of one mfa_token exactly one gets a session, and a wrong answer spends nothing but an attempt.
 * Decisions: docs/decisions.md, "Login with a second factor".
 */
@Injectable()
export class SecondFactorSignIn {
  constructor(
    private readonly challenges: MfaChallenges,
    private readonly totp: TotpFactors,
    private readonly recoveryCodes: RecoveryCodes,
    private readonly users: UsersService,
    private readonly lockout: LockoutService,
    private readonly limiter: RateLimiterService,
    private readonly transactions: Transactions,
    private readonly audit: AuditService,
    private readonly sessions: SessionsService,
    private readonly auth: AuthService,
    private readonly passkeys: PasskeyAuthentication,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** 404 `feature_disabled` while MFA_ENABLED=false. */
  assertEnabled(): void {
    if (!this.config.mfa.enabled) {
      throw new DomainError('feature_disabled', 'Second factors are not enabled on this service');
    }
  }

  /** Completes a login waiting for its second factor: the session and its first token pair. */
  async verify(
    mfaToken: string,
    answer: SecondFactorAnswer,
    context: RequestContext,
  ): Promise<IssuedTokenPair> {
    const challenge = await this.challenges.findByToken(mfaToken);
    if (challenge === null || challenge.userId === null) throw invalidMfaToken();
    const userId = challenge.userId;
    await this.limiter.consumeAccount({ userId });
    const account = await this.users.findWithRoles(userId);
    // Deactivated (or deleted) since the password step, or the password it proved was changed
    // since (a reset must also end a login half done with the old password).
    if (account === null || !account.user.isActive) throw invalidMfaToken();
    const { passwordChangedAt } = account.user;
    if (passwordChangedAt !== null && challenge.createdAt < passwordChangedAt) {
      throw invalidMfaToken();
    }
    // Counted before the answer is looked at: parallel answers cannot check more than it takes.
    const attempt = await this.challenges.reserveAttempt(challenge.id);
    if (attempt === null) throw invalidMfaToken();
    const reservation = await this.lockout.reserve(userId, context);
    if (reservation === null) {
      // Locked: no code is checked, and the answer is the login's.
      await this.lockout.recordFailure(userId, account.user.username, 'locked', context);
      throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    }
    let started;
    try {
      const passkey = await this.provePasskey(answer, (response) =>
        this.passkeys.verifySecondFactor(challenge, response),
      );
      started = await this.transactions.run(async (tx) => {
        if (!(await this.challenges.spend(challenge.id, tx))) return null;
        const proven = passkey ?? (await this.prove(userId, answer, tx));
        const proof = { amr: withFactor(challenge.amr, proven), mfaAt: this.clock.now() };
        const session = await this.sessions.start(userId, context, proof, tx);
        await this.recordProven(tx, 'mfa.verified', userId, answer, context, {
          sessionId: session.session.id,
        });
        return session;
      });
    } catch (error) {
      if (error instanceof WrongAnswer) {
        const alive = await this.challenges.fail(challenge.id, attempt);
        throw await this.wrongAnswer(userId, answer, context, { challengeDied: !alive });
      }
      if (foreignKeyViolation(error)) throw invalidMfaToken();
      throw error;
    }
    // Spent by a concurrent verify (or expired meanwhile): the attempt stays counted.
    if (started === null) throw invalidMfaToken();
    await this.lockout.release(reservation);
    return this.auth.tokenPair(account, started.session, started.refreshToken);
  }

  /**
   * Proves a second factor again in the current session: its `amr` gains the factor, `mfa_at`
   * is now, and a new pair for the same session carries both (the old refresh token is
   * replaced, the old access token keeps its old claims until it expires).
   */
  async stepUp(
    user: AuthenticatedUser,
    answer: SecondFactorAnswer,
    context: RequestContext,
  ): Promise<IssuedTokenPair> {
    await this.limiter.consumeAccount({ userId: user.id });
    const session = await this.sessions.findLive(user.sessionId, user.id);
    if (session === null) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    const reservation = await this.reserve(user, answer, context);
    let refreshToken: string;
    try {
      const passkey = await this.provePasskey(answer, (response) =>
        this.passkeys.verifyStepUp(user.id, response),
      );
      refreshToken = await this.transactions.run(async (tx) => {
        const proven = passkey ?? (await this.prove(user.id, answer, tx));
        const proof = { amr: withFactor(proofOf(session).amr, proven), mfaAt: this.clock.now() };
        const token = await this.sessions.recordSecondFactor(tx, session.id, proof);
        await this.recordProven(tx, 'mfa.step_up', user.id, answer, context, {
          sessionId: session.id,
        });
        return token;
      });
    } catch (error) {
      if (error instanceof WrongAnswer) throw await this.wrongAnswer(user.id, answer, context, {});
      throw error;
    }
    await this.lockout.release(reservation);
    const [account, current] = await Promise.all([
      this.users.findWithRoles(user.id),
      this.sessions.findLive(session.id, user.id),
    ]);
    if (account === null || current === null) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return this.auth.tokenPair(account, current, refreshToken);
  }

  /**
   * Checks (and spends) a code; the `amr` value it proves. A wrong one throws WrongAnswer,
   * which rolls back the caller's transaction. Passkeys are checked by {@link provePasskey}.
   */
  private async prove(
    userId: string,
    answer: SecondFactorAnswer,
    tx: Transaction,
  ): Promise<string> {
    let right: boolean;
    switch (answer.method) {
      case 'totp':
        right = await this.totp.check(userId, answer.code, tx);
        break;
      case 'recovery_code':
        right = await this.recoveryCodes.consume(userId, answer.code, tx);
        break;
      case 'passkey':
        throw new Error('prove: a passkey is checked by provePasskey, before the transaction');
    }
    if (!right) throw new WrongAnswer();
    return AMR_OF[answer.method];
  }

  /**
   * A passkey answer, checked before the transaction (its counter moves in a statement of its
   * own, which on SQLite must not run inside another transaction): the `amr` value it proves
   * (`hwk` or `swk`), undefined for other answers; WrongAnswer when it does not verify.
   */
  private async provePasskey(
    answer: SecondFactorAnswer,
    verify: (response: object) => Promise<SignInProof | null>,
  ): Promise<string | undefined> {
    if (answer.method !== 'passkey') return undefined;
    const proof = await verify(answer.response);
    const proven = proof?.amr.find((method) => method === 'hwk' || method === 'swk');
    if (proven === undefined) throw new WrongAnswer();
    return proven;
  }

  /** Counts a step-up answer against the lockout; a locked account's is refused unchecked. */
  private async reserve(
    user: AuthenticatedUser,
    answer: SecondFactorAnswer,
    context: RequestContext,
  ): Promise<Reservation> {
    const reservation = await this.lockout.reserve(user.id, context);
    if (reservation !== null) return reservation;
    throw await this.wrongAnswer(user.id, answer, context, { locked: true });
  }

  private async recordProven(
    tx: Transaction,
    type: 'mfa.verified' | 'mfa.step_up',
    userId: string,
    answer: SecondFactorAnswer,
    context: RequestContext,
    details: Record<string, unknown>,
  ): Promise<void> {
    await this.audit.record(
      tx,
      {
        type,
        actorId: userId,
        subjectUserId: userId,
        details: { method: answer.method, ...details },
      },
      context,
    );
    if (answer.method === 'recovery_code') {
      const remaining = await this.recoveryCodes.remaining(userId, tx);
      await this.audit.record(
        tx,
        {
          type: 'mfa.recovery_code_used',
          actorId: userId,
          subjectUserId: userId,
          details: { remaining },
        },
        context,
      );
    }
  }

  /** Audits a wrong (or unchecked) answer; the error to answer it with. */
  private async wrongAnswer(
    userId: string,
    answer: SecondFactorAnswer,
    context: RequestContext,
    details: Record<string, unknown>,
  ): Promise<DomainError> {
    await this.transactions.run((tx) =>
      this.audit.record(
        tx,
        {
          type: 'mfa.failed',
          actorId: null,
          subjectUserId: userId,
          details: { method: answer.method, ...details },
        },
        context,
      ),
    );
    return new DomainError('invalid_mfa_code', INVALID_MFA_CODE);
  }
}

/** The methods proven before, the new one, and `mfa`, once each. */
function withFactor(before: readonly string[], proven: string): SignInProof['amr'] {
  return [...new Set([...before.filter((method) => method !== 'mfa'), proven, 'mfa'])];
}

function invalidMfaToken(): DomainError {
  return new DomainError('invalid_mfa_token', INVALID_MFA_TOKEN_MESSAGE);
}
