import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { RateLimiterService } from '../abuse/rate-limiter.service';
import { EmailVerificationService } from '../account-lifecycle/email-verification.service';
import { PasswordResetService } from '../account-lifecycle/password-reset.service';
import { AuditService } from '../audit/audit.service';
import type { RequestContext } from '../common/request-context';
import { Clock } from '../common/clock/clock';
import { DomainError } from '../common/errors/domain-error';
import { foreignKeyViolation } from '../common/errors/unique-violation';
import { AppConfig } from '../config/app-config';
import { Transactions } from '../database/database';
import { RoleName } from '../access/role-name';
import { UsersService, UserWithRoles } from '../users/users.service';
import type { AuthenticatedUser } from '../access/authenticated-user';
import type { RegisterDto } from './dto/register.dto';
import type { TokenPairDto } from './dto/token-pair.dto';
import { INVALID_CREDENTIALS_MESSAGE, PasswordCheck } from '../users/password-check.service';
import { PasswordHasher } from '../passwords/password-hasher.service';
import { assertPasswordAccepted, withinMaximumLength } from '../passwords/password-policy';
import type { Session } from '../sessions/session.entity';
import { IssuedSession, proofOf, SessionsService } from '../sessions/sessions.service';
import { PASSWORD_ONLY, type SignInProof } from '../access/sign-in-proof';
import { mustEnrolSecondFactor } from './mfa/second-factor-policy';
import { MfaChallenges } from '../mfa/challenges/mfa-challenges';
import { SecondFactors } from '../mfa/second-factors';
import { AccessTokenService } from './tokens/access-token.service';
import { Metrics } from '../metrics/metrics.service';

/**
 * The session a pair was issued for, on the pair itself but never serialised (a symbol key):
 * the OIDC interaction pages tie their sign-in's session to the provider's (src/oidc).
 */
export const ISSUED_SESSION: unique symbol = Symbol('issued session');

/** A token pair with the refresh token always present (the controller may move it to a cookie). */
export type IssuedTokenPair = TokenPairDto & { refresh_token: string; [ISSUED_SESSION]?: Session };

/** A password login of a user with a second factor: what to send to POST /auth/mfa/verify. */
export interface MfaRequired {
  mfa_required: true;
  mfa_token: string;
  methods: string[];
  expires_in: number;
}

@Injectable()
export class AuthService implements OnModuleInit {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly accessTokens: AccessTokenService,
    private readonly sessions: SessionsService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly passwords: PasswordCheck,
    private readonly limiter: RateLimiterService,
    private readonly transactions: Transactions,
    private readonly metrics: Metrics,
    private readonly verification: EmailVerificationService,
    private readonly passwordReset: PasswordResetService,
    private readonly secondFactors: SecondFactors,
    private readonly challenges: MfaChallenges,
  ) {}

  onModuleInit(): void {
    if (this.config.jwt.generated) {
      this.logger.warn(
        'No JWT signing key is configured (JWT_SECRET, or JWT_PRIVATE_KEY for asymmetric algorithms): ' +
          'a random key was generated for this process. Tokens stop working at restart and are not ' +
          'shared between instances.',
      );
    }
  }

  /**
   * Creates the account; in its transaction the verification mail is queued (unless
   * EMAIL_VERIFICATION=off), so a registration that rolls back mails nothing.
   */
  register(input: RegisterDto, context: RequestContext): Promise<UserWithRoles> {
    return this.users.createAccount(input, [RoleName.User], {
      audit: async (tx, created) => {
        await this.audit.record(
          tx,
          {
            type: 'user.registered',
            actorId: created.user.id,
            subjectUserId: created.user.id,
            details: { username: created.user.username, email: created.user.email },
          },
          context,
        );
        await this.verification.queueMail(tx, created.user, context);
      },
    });
  }

  /**
   * Checks a login name and password. Every failure costs one argon2 verification, the same
   * database work and ends in the same error, so neither the answer nor its timing tells whether
   * the account exists. The account's rate limit and its lockout are counted before the hash.
   */
  async authenticate(
    loginName: string,
    password: string,
    context: RequestContext,
  ): Promise<UserWithRoles> {
    if (!withinMaximumLength(password)) {
      // No stored password can be this long; refuse before hashing (same answer for everyone).
      throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    }
    const found = await this.users.findLoginAccount(loginName);
    // One bucket per account whichever of its names was typed; other names by canonical form.
    try {
      await this.limiter.consumeAccount(
        found === null ? { loginName } : { userId: found.account.user.id },
      );
    } catch (error) {
      if (error instanceof DomainError && error.code === 'rate_limited') {
        this.metrics.login('rate_limited');
      }
      throw error;
    }
    const { account, passwordHash } = await this.passwords.check(
      found,
      password,
      {
        loginName,
        wrongPassword: 'wrong_password',
        message: INVALID_CREDENTIALS_MESSAGE,
        // POST /auth/mfa/verify releases the attempt when the second factor is right.
        secondStepFollows: async ({ account }) =>
          this.config.mfa.enabled &&
          (await this.secondFactors.methodsOf(account.user.id)).length > 0,
      },
      context,
    );
    if (this.hasher.needsRehash(passwordHash)) {
      // Hashes made with older cost parameters are upgraded while the password is at hand.
      await this.users.updatePasswordHash(account.user.id, await this.hasher.hash(password));
    }
    // Roles as read before the verification; the guards check the current ones on every request.
    return account;
  }

  /**
   * What a right password earns: the token pair, or, for a user with a second factor enrolled
   * (while MFA_ENABLED), an `mfa_token` for POST /auth/mfa/verify and no session yet.
   */
  async passwordLogin(
    account: UserWithRoles,
    client: RequestContext,
  ): Promise<IssuedTokenPair | MfaRequired> {
    if (this.config.mfa.enabled) {
      const { methods, recoveryCodesRemaining } = await this.secondFactors.statusOf(
        account.user.id,
      );
      if (methods.length > 0) {
        const issued = await this.challenges.issueToken(account.user.id, PASSWORD_ONLY.amr);
        return {
          mfa_required: true,
          mfa_token: issued.token,
          // A recovery code is offered only while the account has one left.
          methods: recoveryCodesRemaining > 0 ? [...methods, 'recovery_code'] : methods,
          expires_in: issued.expiresIn,
        };
      }
    }
    return this.login(account, client);
  }

  /**
   * Starts a session for an authenticated user and issues its first token pair. `proof`: how
   * the user proved who they are (the session's `amr` and `mfa_at`; the password alone unless
   * said otherwise).
   */
  async login(
    account: UserWithRoles,
    client: RequestContext,
    proof: SignInProof = PASSWORD_ONLY,
  ): Promise<IssuedTokenPair> {
    let started: IssuedSession;
    try {
      started = await this.sessions.start(account.user.id, client, proof);
    } catch (error) {
      // The account was deleted while its password was being verified.
      if (foreignKeyViolation(error)) {
        throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
      }
      throw error;
    }
    return this.tokenPair(account, started.session, started.refreshToken);
  }

  /** Rotates a refresh token into a new pair (see SessionsService.rotate). */
  async refresh(refreshToken: string, client: RequestContext): Promise<IssuedTokenPair> {
    // The rotation read the user (active, with roles) in its own transaction.
    const rotated = await this.sessions.rotate(refreshToken, client);
    return this.tokenPair(rotated.account, rotated.session, rotated.refreshToken);
  }

  /**
   * Changes the password of the signed-in user: every other session is revoked, the current one
   * gets a new refresh token, access tokens issued before the change stop working, pending
   * reset tokens are spent and a "password changed" notice is queued.
   */
  async changePassword(
    current: AuthenticatedUser,
    passwords: { currentPassword: string; newPassword: string },
    context: RequestContext,
  ): Promise<IssuedTokenPair> {
    // A wrong current password is a failed login: it is how a stolen access token would guess.
    const { user } = (
      await this.passwords.reauthenticate(current, passwords.currentPassword, context)
    ).account;
    assertPasswordAccepted(passwords.newPassword, user, 'newPassword');
    const passwordHash = await this.hasher.hash(passwords.newPassword);
    const changedAt = this.clock.now();

    const refreshToken = await this.transactions.run(async (tx) => {
      await this.users.setPassword(tx, user.id, passwordHash, changedAt);
      const revoked = await this.sessions.revokeAllForUser(user.id, 'password_change', {
        keep: current.sessionId,
        tx,
      });
      const token = await this.sessions.replaceRefreshToken(tx, current.sessionId);
      // Pending reset links die with the old password; the owner is told.
      await this.passwordReset.passwordChanged(tx, user, changedAt);
      // Last in the transaction: the audit append holds a lock until commit.
      await this.audit.record(
        tx,
        {
          type: 'user.password_changed',
          actorId: user.id,
          subjectUserId: user.id,
          details: { otherSessionsRevoked: revoked },
        },
        context,
      );
      return token;
    });
    const [account, session] = await Promise.all([
      this.users.findWithRoles(user.id),
      this.sessions.findLive(current.sessionId, user.id),
    ]);
    if (account === null || session === null) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return this.tokenPair(account, session, refreshToken);
  }

  /**
   * The pair of a session: the access token carries the session's `amr` and `mfa_time`; for a
   * user who must enrol a second factor first (MFA_REQUIRED_FOR_ROLES, none proven in this
   * session) it is an enrolment-only token, and the body says so.
   */
  tokenPair(account: UserWithRoles, session: Session, refreshToken: string): IssuedTokenPair {
    const proof = proofOf(session);
    const mfaEnrolment = mustEnrolSecondFactor(this.config.mfa, account.roles, proof.mfaAt);
    const access = this.accessTokens.issue({
      userId: account.user.id,
      sessionId: session.id,
      roles: account.roles,
      notBefore: account.user.passwordChangedAt,
      proof,
      mfaEnrolment,
    });
    return {
      access_token: access.token,
      token_type: 'Bearer',
      expires_in: access.expiresIn,
      refresh_token: refreshToken,
      refresh_expires_in: this.sessions.secondsLeft(session),
      ...(mfaEnrolment ? { mfa_enrolment_required: true as const } : {}),
      [ISSUED_SESSION]: session,
    };
  }
}
