import { ExecutionContext, Injectable } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { DomainError } from '../../common/errors/domain-error';
import { ValidationFailedError } from '../../common/errors/validation-failed.error';
import { INVALID_CREDENTIALS_MESSAGE } from '../auth.service';
import { LoginDto } from '../dto/login.dto';

/**
 * Runs the LocalStrategy for `POST /auth/login`. Guards run before pipes, so the body is
 * validated here first: a malformed login is a 400 and costs no password hash.
 */
@Injectable()
export class LocalAuthGuard extends AuthGuard('local') {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const body = context.switchToHttp().getRequest<{ body?: unknown }>().body;
    const dto = plainToInstance(LoginDto, typeof body === 'object' && body !== null ? body : {});
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) throw ValidationFailedError.fromValidationErrors(errors);
    return (await super.canActivate(context)) as boolean;
  }

  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    if (error instanceof Error) throw error;
    if (user === false || user === undefined || user === null) {
      throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    }
    return user;
  }
}
