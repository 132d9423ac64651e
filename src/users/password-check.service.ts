import { Injectable } from '@nestjs/common';
import { LockoutService, type LoginFailureReason, type Reservation } from './lockout.service';
import { DomainError } from '../common/errors/domain-error';
import type { RequestContext } from '../common/request-context';
import { LoginAccount, UsersService } from './users.service';
import { PasswordHasher } from '../passwords/password-hasher.service';
import { type LoginOutcome, Metrics } from '../metrics/metrics.service';

const LOGIN_OUTCOME_OF: Record<LoginFailureReason, LoginOutcome> = {
  unknown_account: 'unknown_name',
  wrong_password: 'wrong_password',
  wrong_current_password: 'wrong_password',
  inactive: 'inactive',
  locked: 'locked',
};

// One message for every failed login: unknown name, wrong password, inactive or locked account.
export const INVALID_CREDENTIALS_MESSAGE = 'Invalid username or password';

/**
 * The one place a password is checked against an account, for a login and for a
 * re-authentication alike. The attempt is counted (LockoutService.reserve) before the hash is
 * verified, so concurrent attempts never get more verifications than the lockout allows. Every
 * failure, an unknown name included, costs one argon2 verification and the same database work.
 */
@Injectable()
export class PasswordCheck {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly lockout: LockoutService,
    private readonly metrics: Metrics,
  ) {}

  /**
   * Checks `password` for `found` (null: the name matched no account) and returns the account;
   * throws `invalid_credentials` with `attempt.message` on any failure.
   */
  async check(
    found: LoginAccount | null,
    password: string,
    attempt: {
      loginName: string;
      wrongPassword: LoginFailureReason;
      message: string;
      /**
       * Whether a right password leaves the account a second step (a second factor): then only
       * this attempt is undone and the failures before it stay until that step succeeds, so
       * knowing the password does not reset what guessing codes piles up.
       */
      secondStepFollows?: (account: LoginAccount) => Promise<boolean>;
    },
    context: RequestContext,
  ): Promise<LoginAccount> {
    const userId = found?.account.user.id ?? null;
    // A login (its wrong password is `wrong_password`) is counted in the login metrics; a
    // re-authentication of a signed-in user is not.
    const count = (outcome: LoginOutcome): void => {
      if (attempt.wrongPassword === 'wrong_password') this.metrics.login(outcome);
    };
    const reservation = await this.lockout.reserve(userId, context);
    const fail = async (reason: LoginFailureReason, release?: Reservation): Promise<never> => {
      await this.lockout.recordFailure(userId, attempt.loginName, reason, context, release);
      count(LOGIN_OUTCOME_OF[reason]);
      throw new DomainError('invalid_credentials', attempt.message);
    };
    if (found === null || reservation === null) {
      // Unknown or locked: no password is checked, but it takes the time of one check.
      await this.hasher.verifyDummy(password);
      return fail(found === null ? 'unknown_account' : 'locked');
    }
    if (!(await this.hasher.verify(found.passwordHash, password))) {
      // Counted already: the reservation stays as this failure.
      return fail(attempt.wrongPassword);
    }
    // The right password resolves the reservation, also when the account is then refused.
    if (!found.account.user.isActive) return fail('inactive', reservation);
    if (await attempt.secondStepFollows?.(found)) await this.lockout.withdraw(reservation);
    else await this.lockout.release(reservation);
    count('success');
    return found;
  }

  /**
   * SPEC §8 re-authentication of the signed-in user (password change, email change): a wrong
   * current password is a failed login for lockout, answered 401.
   */
  async reauthenticate(
    current: { id: string; username: string },
    password: string,
    context: RequestContext,
  ): Promise<LoginAccount> {
    const found = await this.users.findLoginAccount(current.username);
    if (found === null || found.account.user.id !== current.id) {
      throw new DomainError('invalid_token', 'The access token is invalid or expired');
    }
    return this.check(
      found,
      password,
      {
        loginName: current.username,
        wrongPassword: 'wrong_current_password',
        message: 'The current password is incorrect',
      },
      context,
    );
  }
}
