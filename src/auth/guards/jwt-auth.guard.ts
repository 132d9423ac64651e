import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../../common/errors/domain-error';
import { isInfrastructureFailure } from '../../common/errors/infrastructure-failure';
import { RouteMetadata } from '../../common/route-metadata';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { IS_PUBLIC_KEY } from '../../access/public.decorator';
import { JwtStrategy } from '../strategies/jwt.strategy';
import { runStrategy } from './run-strategy';

/** Global: every route needs a valid access token unless it is marked `@Public()`. */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly isPublic: RouteMetadata<boolean>;

  constructor(
    reflector: Reflector,
    private readonly strategy: JwtStrategy,
  ) {
    this.isPublic = new RouteMetadata(
      (handler, controller) =>
        reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [handler, controller]) ===
        true,
    );
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
      request.user = user as AuthenticatedUser;
      return true;
    }
    if (info instanceof Error && info.message === 'No auth token') {
      throw new DomainError('missing_token', 'An access token is required');
    }
    throw new DomainError('invalid_token', 'The access token is invalid or expired');
  }
}
