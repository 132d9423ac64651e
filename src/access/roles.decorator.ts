import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiExtension, ApiForbiddenResponse } from '@nestjs/swagger';
import { ProblemDto } from '../common/http/problem.dto';
import { RoleName } from './role-name';
import { Authenticated } from './authenticated.decorator';

export const ROLES_KEY = 'auth:roles';

/**
 * Requires one of `roles` (higher roles imply lower ones), an access token, and documents both.
 */
export const Roles = (...roles: RoleName[]): MethodDecorator & ClassDecorator =>
  applyDecorators(
    SetMetadata(ROLES_KEY, roles),
    Authenticated(),
    ApiExtension('x-required-roles', roles),
    ApiForbiddenResponse({ description: `Requires ${roles.join(' or ')}`, type: ProblemDto }),
  );
