import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { DomainError } from '../../common/errors/domain-error';
import { IS_PUBLIC_KEY } from '../decorators/public.decorator';

/** Global: every route needs a valid access token unless it is marked `@Public()`. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(
    context: ExecutionContext,
  ): ReturnType<ReturnType<typeof AuthGuard>['prototype']['canActivate']> {
    const isPublic = this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic === true) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser>(error: unknown, user: TUser | false, info: unknown): TUser {
    if (error === null && user !== false && user !== undefined && user !== null) return user;
    if (error instanceof DomainError) throw error;
    if (info instanceof Error && info.message === 'No auth token') {
      throw new DomainError('missing_token', 'An access token is required');
    }
    throw new DomainError('invalid_token', 'The access token is invalid or expired');
  }
}
