import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../../common/errors/domain-error';
import { RouteMetadata } from '../../common/route-metadata';
import type { RoleName } from '../../access/role-name';
import type { AuthenticatedUser } from '../../access/authenticated-user';
import { IS_PUBLIC_KEY } from '../../access/public.decorator';
import { ROLES_KEY } from '../../access/roles.decorator';
import { satisfiesRoles } from '../../access/role-hierarchy';

/** Global: enforces `@Roles(...)` with the role hierarchy, using the roles loaded per request. */
@Injectable()
export class RolesGuard implements CanActivate {
  /** The roles a route requires; none for public routes and routes without `@Roles()`. */
  private readonly required: RouteMetadata<readonly RoleName[]>;

  constructor(reflector: Reflector) {
    this.required = new RouteMetadata((handler, controller) => {
      const targets = [handler, controller];
      if (reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC_KEY, targets) === true) {
        return [];
      }
      return reflector.getAllAndOverride<RoleName[] | undefined>(ROLES_KEY, targets) ?? [];
    });
  }

  canActivate(context: ExecutionContext): boolean {
    const required = this.required.of(context);
    if (required.length === 0) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthenticatedUser }>().user;
    if (user === undefined) {
      throw new DomainError('missing_token', 'An access token is required');
    }
    if (!satisfiesRoles(user.roles, required)) {
      throw new DomainError('insufficient_role', `This action requires ${required.join(' or ')}`);
    }
    return true;
  }
}
