import { secondFactorWithin } from '../../access/sign-in-proof';
import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../../common/errors/domain-error';
import { isInfrastructureFailure } from '../../common/errors/infrastructure-failure';
import { RouteMetadata } from '../../common/route-metadata';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { ALLOW_UNVERIFIED_EMAIL_KEY } from '../../access/allow-unverified-email.decorator';
import { IS_PUBLIC_KEY } from '../../access/public.decorator';
import { AppConfig } from '../../config/app-config';
import { Clock } from '../../common/clock/clock';
import { ALLOW_MFA_ENROLMENT_KEY } from '../../access/allow-mfa-enrolment.decorator';
import { REQUIRE_MFA_KEY, type RequireMfaOptions } from '../../access/require-mfa.decorator';
import type { RoleName } from '../../access/role-name';
import { ROLES_KEY } from '../../access/roles.decorator';
import { satisfiesRoles } from '../../access/role-hierarchy';
import { isAdminOnly, mustEnrolSecondFactor } from '../mfa/second-factor-policy';
import { JwtStrategy } from '../strategies/jwt.strategy';
import { runStrategy } from './run-strategy';

/**
 * Global: every route needs a valid access token unless it is marked `@Public()`. With
 * EMAIL_VERIFICATION=required an account with an unverified email gets 403 `email_not_verified`
 * on every route not marked `@AllowUnverifiedEmail()`, judged from the account state the token
 * check loaded (so a verification counts from the very next request).
 *
 * Second factors (while MFA_ENABLED): a user who must enrol one (MFA_REQUIRED_FOR_ROLES, none
 * proven in the session) gets 403 `mfa_enrolment_required` on every route not marked
 * `@AllowMfaEnrolment()`, judged from the roles as they are now; a `@RequireMfa()` route (and,
 * with MFA_ADMIN_STEP_UP, every ADMIN-only route the user's roles pass) wants a second factor
 * proven within its max age, else 401 `mfa_step_up_required` (RFC 9470).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly isPublic: RouteMetadata<boolean>;
  private readonly allowsUnverified: RouteMetadata<boolean> | null;
  private readonly allowsMfaEnrolment: RouteMetadata<boolean>;
  /** The step-up a route demands: the roles it needs it for (none: everyone), and how recent. */
  private readonly stepUp: RouteMetadata<{ maxAgeSeconds: number; roles: RoleName[] } | null>;

  constructor(
    reflector: Reflector,
    private readonly strategy: JwtStrategy,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {
    const flag = (key: string) =>
      new RouteMetadata(
        (handler, controller) =>
          reflector.getAllAndOverride<boolean | undefined>(key, [handler, controller]) === true,
      );
    this.isPublic = flag(IS_PUBLIC_KEY);
    this.allowsUnverified =
      config.accountLifecycle.emailVerification === 'required'
        ? flag(ALLOW_UNVERIFIED_EMAIL_KEY)
        : null;
    this.allowsMfaEnrolment = flag(ALLOW_MFA_ENROLMENT_KEY);
    const { mfa } = config;
    this.stepUp = new RouteMetadata((handler, controller) => {
      if (!mfa.enabled) return null;
      const targets = [handler, controller];
      const options = reflector.getAllAndOverride<RequireMfaOptions | undefined>(
        REQUIRE_MFA_KEY,
        targets,
      );
      if (options !== undefined) {
        return { maxAgeSeconds: options.maxAgeSeconds ?? mfa.stepUpMaxAgeSeconds, roles: [] };
      }
      const roles = reflector.getAllAndOverride<RoleName[] | undefined>(ROLES_KEY, targets) ?? [];
      return mfa.adminStepUp && isAdminOnly(roles)
        ? { maxAgeSeconds: mfa.stepUpMaxAgeSeconds, roles }
        : null;
    });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.isPublic.of(context)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<{ user?: AuthenticatedUser }>();
    const { error, user, info } = await runStrategy(this.strategy, request);
    // The database could not say whether the token is still good: a 503 the client retries
    // with the same token, never a 401 that makes it throw a valid token away.
    if (error instanceof DomainError || isInfrastructureFailure(error)) throw error;
    if (error === null && user) {
      const authenticated = user as AuthenticatedUser;
      request.user = authenticated;
      if (
        this.allowsUnverified !== null &&
        authenticated.account.user.emailVerifiedAt === null &&
        !this.allowsUnverified.of(context)
      ) {
        throw new DomainError(
          'email_not_verified',
          'Verify your email address first: follow the link mailed to it',
        );
      }
      this.checkSecondFactor(authenticated, context);
      return true;
    }
    if (info instanceof Error && info.message === 'No auth token') {
      throw new DomainError('missing_token', 'An access token is required');
    }
    throw new DomainError('invalid_token', 'The access token is invalid or expired');
  }

  private checkSecondFactor(user: AuthenticatedUser, context: ExecutionContext): void {
    if (
      mustEnrolSecondFactor(this.config.mfa, user.roles, user.mfaAt) &&
      !this.allowsMfaEnrolment.of(context)
    ) {
      throw new DomainError(
        'mfa_enrolment_required',
        'Enrol a second factor first (POST /users/me/mfa/totp), then step up ' +
          '(POST /auth/mfa/step-up) or log in again',
      );
    }
    const stepUp = this.stepUp.of(context);
    if (stepUp === null) return;
    // A role short is the RolesGuard's 403, not a step-up the user could not use.
    if (stepUp.roles.length > 0 && !satisfiesRoles(user.roles, stepUp.roles)) return;
    if (!secondFactorWithin(user.mfaAt, this.clock.now(), stepUp.maxAgeSeconds)) {
      throw new DomainError(
        'mfa_step_up_required',
        'Prove a second factor first: POST /auth/mfa/step-up, then retry with the new token',
        undefined,
        { maxAgeSeconds: stepUp.maxAgeSeconds },
      );
    }
  }
}
