import {
  Body,
  Controller,
  Header,
  HttpCode,
  Post,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimit } from '../abuse/rate-limit.decorator';
import { OAuthError } from '../common/errors/oauth-error';
import { FORM_MEDIA_TYPE, isFormEncoded } from '../common/http/media-types';
import { ProblemDto } from '../common/http/problem.dto';
import { CurrentRequest, RequestContext, requestContextOf } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import type { UserWithRoles } from '../users/users.service';
import { AuthService, type IssuedTokenPair, type MfaRequired } from './auth.service';
import type { AuthenticatedUser } from '../access/authenticated-user';
import { Authenticated } from '../access/authenticated.decorator';
import { AllowUnverifiedEmail } from '../access/allow-unverified-email.decorator';
import { CurrentUser } from '../access/current-user.decorator';
import { Public } from '../access/public.decorator';
import { LoginDto } from './dto/login.dto';
import { RefreshDto } from './dto/refresh.dto';
import { RegisterDto } from './dto/register.dto';
import { MfaRequiredDto, OAuthErrorDto, TokenPairDto } from './dto/token-pair.dto';
import { AllowMfaEnrolment } from '../access/allow-mfa-enrolment.decorator';
import { TokenRequestDto } from './dto/token-request.dto';
import { LocalAuthGuard } from './guards/local-auth.guard';
import { OAuthTokenFilter } from './oauth-token.filter';
import { clearRefreshCookie, deliverTokens, refreshTokenFromCookie } from './refresh-cookie';
import { SessionsService } from '../sessions/sessions.service';

const EXAMPLE_MFA_TOKEN = 'q1yS3m1yOZ3Kx8n8rC1n3o7bY0H5bqGmR0c2v6tW9sE';

function mfaRequired(answer: IssuedTokenPair | MfaRequired): answer is MfaRequired {
  return 'mfa_required' in answer;
}

@ApiTags('auth')
@ApiExtraModels(MfaRequiredDto)
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionsService,
    private readonly config: AppConfig,
  ) {}

  @Post('register')
  @Public()
  @RateLimit({ perAccount: true })
  @ApiOperation({ summary: 'Create an account (granted ROLE_USER)' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({
    description: 'Invalid field, unknown field, or password refused by the policy',
    type: ProblemDto,
  })
  @ApiConflictResponse({
    description: 'Username or email already taken (case-insensitive)',
    type: ProblemDto,
  })
  async register(
    @Body() body: RegisterDto,
    @CurrentRequest() context: RequestContext,
  ): Promise<UserResponseDto> {
    return toUserResponse(await this.auth.register(body, context));
  }

  @Post('login')
  @Public()
  @RateLimit({ perAccount: 'login' })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @UseGuards(LocalAuthGuard)
  @ApiOperation({
    summary: 'Log in with username (or email) and password; starts a session',
    description:
      'JSON, or form-encoded as the FastAPI tutorials post it (`grant_type`, `scope`, ' +
      '`client_id`, `client_secret` then accepted and ignored). A form login always answers ' +
      'with the refresh token in the body, also in cookie mode. A user with a second factor ' +
      '(while MFA_ENABLED) gets no tokens yet but `{mfa_required: true, mfa_token, methods, ' +
      'expires_in}`: send the mfa_token and a code to POST /auth/mfa/verify.',
  })
  @ApiConsumes('application/json', FORM_MEDIA_TYPE)
  @ApiBody({ type: LoginDto })
  @ApiOkResponse({
    description: 'The token pair; or, for a user with a second factor, the mfa_token',
    schema: {
      oneOf: [{ $ref: getSchemaPath(TokenPairDto) }, { $ref: getSchemaPath(MfaRequiredDto) }],
    },
    examples: {
      tokens: {
        summary: 'No second factor enrolled: the token pair',
        value: {
          access_token: 'eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiIuLi4ifQ.c2ln',
          token_type: 'Bearer',
          expires_in: 900,
          refresh_token: 'mF3u0b0bX1pQ0Zt7uQ2kz8l1Yw5cE9rTq4s6vA2hJ0o',
          refresh_expires_in: 604800,
        },
      },
      mfaRequired: {
        summary: 'A second factor is enrolled: POST /auth/mfa/verify next',
        value: {
          mfa_required: true,
          mfa_token: EXAMPLE_MFA_TOKEN,
          methods: ['totp', 'recovery_code'],
          expires_in: 300,
        },
      },
    },
  })
  @ApiBadRequestResponse({ description: 'Malformed body', type: ProblemDto })
  @ApiUnauthorizedResponse({
    description: 'Invalid username or password (one answer for every cause)',
    type: ProblemDto,
  })
  async login(
    @Req() request: FastifyRequest & { user: UserWithRoles },
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenPairDto | MfaRequiredDto> {
    const pair = await this.auth.passwordLogin(request.user, requestContextOf(request));
    if (mfaRequired(pair)) return pair;
    // A cross-site page can post a form without a preflight: such a login must not plant a
    // refresh cookie in the visitor's browser (login CSRF), so its tokens stay in the body.
    if (isFormEncoded(request)) return pair;
    return deliverTokens(this.config, reply, pair);
  }

  @Post('token')
  @Public()
  @RateLimit({ perAccount: 'login' })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseFilters(OAuthTokenFilter)
  @ApiOperation({
    summary: 'OAuth2 token endpoint (RFC 6749): password and refresh_token grants',
    description:
      'Form-encoded. Used by Swagger UI "Authorize" (OAuth2 password flow). Always returns the ' +
      'refresh token in the body (OAuth2 clients expect it there), also in cookie mode. The ' +
      'password grant of a user with a second factor answers 403 `mfa_required` with an ' +
      '`mfa_token` for POST /auth/mfa/verify (as Auth0 answers it).',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({
    description: '`invalid_request` or `unsupported_grant_type`',
    type: OAuthErrorDto,
  })
  @ApiUnauthorizedResponse({
    description:
      '`invalid_grant`: bad credentials, or an invalid, expired, reused or revoked refresh token',
    type: OAuthErrorDto,
  })
  @ApiForbiddenResponse({
    description:
      '`mfa_required`: the password is right and the user has a second factor; the body ' +
      'carries `mfa_token`, `methods` and `expires_in` for POST /auth/mfa/verify',
    type: OAuthErrorDto,
  })
  async token(
    @Req() request: FastifyRequest,
    @Body() body: TokenRequestDto,
  ): Promise<TokenPairDto> {
    if (!(request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      throw new OAuthError(
        'invalid_request',
        'The token request must be application/x-www-form-urlencoded',
      );
    }
    switch (body.grant_type) {
      case 'password': {
        if (body.username === undefined || body.password === undefined) {
          throw new OAuthError('invalid_request', 'username and password are required');
        }
        const context = requestContextOf(request);
        const user = await this.auth.authenticate(body.username, body.password, context);
        const answer = await this.auth.passwordLogin(user, context);
        if (mfaRequired(answer)) {
          throw new OAuthError(
            'mfa_required',
            'Multi-factor authentication required: POST the mfa_token and a code to /auth/mfa/verify',
            403,
            { mfa_token: answer.mfa_token, methods: answer.methods, expires_in: answer.expires_in },
          );
        }
        return answer;
      }
      case 'refresh_token': {
        if (body.refresh_token === undefined) {
          throw new OAuthError('invalid_request', 'refresh_token is required');
        }
        return this.auth.refresh(body.refresh_token, requestContextOf(request));
      }
      case undefined:
        throw new OAuthError('invalid_request', 'grant_type is required');
      default:
        throw new OAuthError(
          'unsupported_grant_type',
          'Supported grant types: password, refresh_token',
        );
    }
  }

  @Post('refresh')
  @Public()
  @RateLimit({ perAccount: false })
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @UseFilters(OAuthTokenFilter)
  @ApiOperation({
    summary: 'Exchange a refresh token for a new token pair (rotation)',
    description:
      'Each refresh token works once. Presenting one that was already used, after a short grace ' +
      'window for concurrent tabs, revokes the whole session. With REFRESH_TOKEN_COOKIE=true the ' +
      'token is read from the refresh cookie and the new one set there. With ' +
      'REFRESH_COOKIE_SAMESITE=none a cookie refresh must send an `Origin` listed in ' +
      'CORS_ORIGINS and an `X-CSRF-Protection` header (any value), else 403.',
  })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({
    description: '`invalid_request`: no refresh token',
    type: OAuthErrorDto,
  })
  @ApiUnauthorizedResponse({
    description: '`invalid_grant`: invalid, expired, reused or revoked refresh token',
    type: OAuthErrorDto,
  })
  @ApiForbiddenResponse({
    description:
      '`invalid_request`: REFRESH_COOKIE_SAMESITE=none and a cookie refresh without an allowed ' +
      'Origin or without the X-CSRF-Protection header',
    type: OAuthErrorDto,
  })
  async refresh(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Body() body: RefreshDto,
  ): Promise<TokenPairDto> {
    // A token in the body is no ambient credential: only the cookie needs the CSRF check.
    const presented = body.refresh_token ?? refreshTokenFromCookie(this.config, request);
    if (presented === undefined || presented === '') {
      throw new OAuthError('invalid_request', 'refresh_token is required');
    }
    const pair = await this.auth.refresh(presented, requestContextOf(request));
    return deliverTokens(this.config, reply, pair);
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated()
  @AllowUnverifiedEmail()
  @AllowMfaEnrolment()
  @ApiOperation({ summary: 'End the current session (its refresh and access tokens stop working)' })
  @ApiNoContentResponse({ description: 'Session revoked' })
  async logout(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.sessions.logout(user.id, user.sessionId, context);
    clearRefreshCookie(this.config, reply);
  }

  @Post('logout-all')
  @HttpCode(204)
  @Authenticated()
  @AllowUnverifiedEmail()
  @AllowMfaEnrolment()
  @ApiOperation({ summary: 'End every session of the current user, this one included' })
  @ApiNoContentResponse({ description: 'All sessions revoked' })
  async logoutAll(
    @CurrentUser() user: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    await this.sessions.logoutAll(user.id, context);
    clearRefreshCookie(this.config, reply);
  }
}
