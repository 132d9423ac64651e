import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { DomainError } from '../../common/errors/domain-error';
import { ValidationFailedError } from '../../common/errors/validation-failed.error';
import type { UserWithRoles } from '../../users/users.service';
import { INVALID_CREDENTIALS_MESSAGE } from '../../users/password-check.service';
import { isFormEncoded } from '../../common/http/media-types';
import { refuseNulCharacters } from '../../common/validation/input-validation.pipe';
import { LoginFormDto } from '../dto/login-form.dto';
import { LoginDto } from '../dto/login.dto';
import { LocalStrategy } from '../strategies/local.strategy';
import { runStrategy } from './run-strategy';

/**
 * Runs the LocalStrategy for `POST /auth/login`. Guards run before pipes, so the body is
 * validated here first: a malformed login is a 400 and costs no password hash. A form-encoded
 * body (the FastAPI tutorials' clients) may also carry the OAuth2 password-form extras.
 */
@Injectable()
export class LocalAuthGuard implements CanActivate {
  constructor(private readonly strategy: LocalStrategy) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<{
      body?: unknown;
      headers: { 'content-type'?: string };
      user?: UserWithRoles;
    }>();
    const body = request.body;
    refuseNulCharacters(body);
    const dto = plainToInstance(
      isFormEncoded(request) ? LoginFormDto : LoginDto,
      typeof body === 'object' && body !== null ? body : {},
    );
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) throw ValidationFailedError.fromValidationErrors(errors);

    const { error, user } = await runStrategy(this.strategy, request);
    if (error instanceof Error) throw error;
    if (!user) throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    request.user = user as UserWithRoles;
    return true;
  }
}
