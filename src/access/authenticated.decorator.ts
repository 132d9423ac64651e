import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiOAuth2, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ProblemDto } from '../common/http/problem.dto';

export const BEARER_SCHEME = 'bearer';
export const OAUTH2_SCHEME = 'oauth2';

/**
 * Documents that a route needs an access token. The global JWT guard enforces it whether or not
 * this is present; tests check that the docs and the guard agree on every route.
 */
export const Authenticated = (): MethodDecorator & ClassDecorator =>
  applyDecorators(
    ApiBearerAuth(BEARER_SCHEME),
    ApiOAuth2([], OAUTH2_SCHEME),
    ApiUnauthorizedResponse({
      description: 'Missing, invalid or expired access token, or the account is no longer active',
      type: ProblemDto,
    }),
  );
