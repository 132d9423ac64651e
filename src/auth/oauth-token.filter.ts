import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import { OAuthError } from '../common/errors/oauth-error';
import { ValidationFailedError } from '../common/errors/validation-failed.error';
import { ProblemDetailsFilter } from '../common/http/problem-details.filter';

/**
 * On the OAuth2 token and refresh endpoints, errors take the RFC 6749 shape clients expect: bad input is
 * `invalid_request`, bad credentials `invalid_grant`. Anything else is handled as everywhere.
 */
@Catch()
export class OAuthTokenFilter implements ExceptionFilter {
  private readonly fallback = new ProblemDetailsFilter();

  catch(exception: unknown, host: ArgumentsHost): void {
    this.fallback.catch(toOAuthError(exception), host);
  }
}

function toOAuthError(exception: unknown): unknown {
  if (exception instanceof ValidationFailedError) {
    return new OAuthError('invalid_request', 'The token request is malformed');
  }
  if (
    exception instanceof DomainError &&
    (exception.code === 'invalid_credentials' || exception.code === 'invalid_refresh_token')
  ) {
    // 401 as Keycloak does for bad user credentials; the body is RFC 6749's.
    return new OAuthError('invalid_grant', exception.message, 401);
  }
  return exception;
}
