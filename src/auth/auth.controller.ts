import {
  Body,
  Controller,
  Header,
  HttpCode,
  Post,
  Req,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { OAuthError } from '../common/errors/oauth-error';
import { ProblemDto } from '../common/http/problem.dto';
import { toUserResponse, UserResponseDto } from '../users/dto/user-response.dto';
import type { UserWithRoles } from '../users/users.service';
import { AuthService } from './auth.service';
import { Public } from './decorators/public.decorator';
import { LoginDto } from './dto/login.dto';
import { RegisterDto } from './dto/register.dto';
import { TokenRequestDto } from './dto/token-request.dto';
import { OAuthErrorDto, TokenPairDto } from './dto/token-pair.dto';
import { LocalAuthGuard } from './guards/local-auth.guard';
import { OAuthTokenFilter } from './oauth-token.filter';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @Public()
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
  async register(@Body() body: RegisterDto): Promise<UserResponseDto> {
    return toUserResponse(await this.auth.register(body));
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @UseGuards(LocalAuthGuard)
  @ApiOperation({ summary: 'Log in with username (or email) and password' })
  @ApiBody({ type: LoginDto })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({ description: 'Malformed body', type: ProblemDto })
  @ApiUnauthorizedResponse({
    description: 'Invalid username or password (one answer for every cause)',
    type: ProblemDto,
  })
  login(@Req() request: FastifyRequest & { user: UserWithRoles }): TokenPairDto {
    return this.auth.issueTokens(request.user);
  }

  @Post('token')
  @Public()
  @HttpCode(200)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @UseFilters(OAuthTokenFilter)
  @ApiOperation({
    summary: 'OAuth2 token endpoint (RFC 6749): password grant',
    description: 'Form-encoded. Used by Swagger UI "Authorize" (OAuth2 password flow).',
  })
  @ApiConsumes('application/x-www-form-urlencoded')
  @ApiOkResponse({ type: TokenPairDto })
  @ApiBadRequestResponse({
    description: '`invalid_request` or `unsupported_grant_type`',
    type: OAuthErrorDto,
  })
  @ApiUnauthorizedResponse({ description: '`invalid_grant`: bad credentials', type: OAuthErrorDto })
  @ApiUnsupportedMediaTypeResponse({ description: 'Body is not form-encoded', type: ProblemDto })
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
        const user = await this.auth.authenticate(body.username, body.password);
        return this.auth.issueTokens(user);
      }
      case undefined:
        throw new OAuthError('invalid_request', 'grant_type is required');
      default:
        throw new OAuthError('unsupported_grant_type', 'Supported grant types: password');
    }
  }
}
