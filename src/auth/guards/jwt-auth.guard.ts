import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../../common/errors/domain-error';
import { isInfrastructureFailure } from '../../common/errors/infrastructure-failure';
import { RouteMetadata } from '../../common/route-metadata';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { ALLOW_UNVERIFIED_EMAIL_KEY } from '../../access/allow-unverified-email.decorator';
import { IS_PUBLIC_KEY } from '../../access/public.decorator';
import { AppConfig } from '../../config/app-config';
import { JwtStrategy } from '../strategies/jwt.strategy';
import { runStrategy } from './run-strategy';

/**
 * Global: every route needs a valid access token unless it is marked `@Public()`. With
 * EMAIL_VERIFICATION=required an account with an unverified email gets 403 `email_not_verified`
 * on every route not marked `@AllowUnverifiedEmail()`, judged from the account state the token
 * check loaded (so a verification counts from the very next request).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly isPublic: RouteMetadata<boolean>;
  private readonly allowsUnverified: RouteMetadata<boolean> | null;

  constructor(
    reflector: Reflector,
    private readonly strategy: JwtStrategy,
    config: AppConfig,
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
      return true;
    }
    if (info instanceof Error && info.message === 'No auth token') {
      throw new DomainError('missing_token', 'An access token is required');
    }
    throw new DomainError('invalid_token', 'The access token is invalid or expired');
  }
}
