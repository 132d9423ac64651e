import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Patch,
  type PipeTransform,
  Post,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { CurrentUser } from '../../access/current-user.decorator';
import { RoleName } from '../../access/role-name';
import { Roles } from '../../access/roles.decorator';
import { ProblemDto } from '../../common/http/problem.dto';
import { CurrentRequest, RequestContext } from '../../common/request-context';
import { CreateOidcClientDto, UpdateOidcClientDto } from './dto/oidc-client-request.dto';
import {
  IssuedOidcClientDto,
  OidcClientDto,
  toIssuedOidcClient,
  toOidcClientResponse,
} from './dto/oidc-client-response.dto';
import { OidcClientsService } from './oidc-clients.service';

/**
 * Client ids are what OidcClientsService issues: 16 random bytes, base64url. Anything else
 * names no client, and is refused as malformed like a user id that is not a UUID.
 */
class ClientIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[A-Za-z0-9_-]{22}$/.test(value)) throw new BadRequestException();
    return value;
  }
}
const CLIENT_ID = new ClientIdPipe();

const NOT_FOUND = 'No such client';
const INVALID =
  'Invalid or unknown field, or a client the rules refuse (redirect URIs, grants, response ' +
  'types, authentication method, scopes; each problem named in `errors`)';

/** Administrators register and manage the OpenID Provider's clients (SPEC §10). */
@ApiTags('oidc-clients')
@Controller('oidc-clients')
export class OidcClientsController {
  constructor(private readonly clients: OidcClientsService) {}

  @Post()
  @Roles(RoleName.Admin)
  // The answer may hold the only copy of the client secret.
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Register a client (RFC 7591 metadata); a confidential one gets its secret once',
    description:
      'Answers the client with its `client_id` and, unless `token_endpoint_auth_method` is ' +
      '`none` (a public client), a `client_secret`: shown only in this answer, stored only as ' +
      'its SHA-256. Audited as oidc.client_created.',
  })
  @ApiCreatedResponse({ type: IssuedOidcClientDto })
  @ApiBadRequestResponse({ description: INVALID, type: ProblemDto })
  async create(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Body() body: CreateOidcClientDto,
  ): Promise<IssuedOidcClientDto> {
    const { client, secret } = await this.clients.create(current.id, body, context);
    return toIssuedOidcClient(client, secret);
  }

  @Get()
  @Roles(RoleName.Admin)
  @ApiOperation({ summary: 'Every client, oldest first (never a secret)' })
  @ApiOkResponse({ type: [OidcClientDto] })
  async list(): Promise<OidcClientDto[]> {
    return (await this.clients.list()).map(toOidcClientResponse);
  }

  @Get(':id')
  @Roles(RoleName.Admin)
  @ApiOperation({ summary: 'One client (never its secret)' })
  @ApiOkResponse({ type: OidcClientDto })
  @ApiBadRequestResponse({ description: 'The id is not a client_id', type: ProblemDto })
  @ApiNotFoundResponse({ description: NOT_FOUND, type: ProblemDto })
  async get(@Param('id', CLIENT_ID) id: string): Promise<OidcClientDto> {
    return toOidcClientResponse(await this.clients.get(id));
  }

  @Patch(':id')
  @Roles(RoleName.Admin)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Change a client: the fields given; the result must pass the rules of a new one',
    description:
      'Changed grant_types bring the response_types that go with them unless those are given ' +
      'too. Switching to `none` deletes the secret; switching a public client to ' +
      'client_secret_basic or client_secret_post issues one, in this answer only. Audited as ' +
      'oidc.client_updated with the names of the changed fields.',
  })
  @ApiOkResponse({ type: IssuedOidcClientDto })
  @ApiBadRequestResponse({ description: INVALID, type: ProblemDto })
  @ApiNotFoundResponse({ description: NOT_FOUND, type: ProblemDto })
  async update(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', CLIENT_ID) id: string,
    @Body() body: UpdateOidcClientDto,
  ): Promise<IssuedOidcClientDto> {
    const { client, secret } = await this.clients.update(current.id, id, body, context);
    return toIssuedOidcClient(client, secret);
  }

  @Post(':id/secret')
  @HttpCode(200)
  @Roles(RoleName.Admin)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: "Rotate a confidential client's secret; the new one is shown once",
    description: 'The old secret stops working at once. Audited as oidc.client_secret_rotated.',
  })
  @ApiOkResponse({ type: IssuedOidcClientDto })
  @ApiNotFoundResponse({ description: NOT_FOUND, type: ProblemDto })
  @ApiConflictResponse({ description: 'A public client, which has no secret', type: ProblemDto })
  async rotateSecret(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', CLIENT_ID) id: string,
  ): Promise<IssuedOidcClientDto> {
    const { client, secret } = await this.clients.rotateSecret(current.id, id, context);
    return toIssuedOidcClient(client, secret);
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles(RoleName.Admin)
  @ApiOperation({
    summary: 'Delete a client',
    description:
      'Its codes, refresh tokens and opaque access tokens are refused from then on (the ' +
      'provider finds no client for them); an access token for the API that it already holds ' +
      'is a JWT the API checks by its session, and lasts until it expires (ACCESS_TOKEN_TTL). ' +
      'Audited as oidc.client_deleted.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ description: NOT_FOUND, type: ProblemDto })
  async remove(
    @CurrentUser() current: AuthenticatedUser,
    @CurrentRequest() context: RequestContext,
    @Param('id', CLIENT_ID) id: string,
  ): Promise<void> {
    await this.clients.remove(current.id, id, context);
  }
}
