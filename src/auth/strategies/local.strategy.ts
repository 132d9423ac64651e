import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-local';
import { requestContextOf } from '../../common/request-context';
import type { UserWithRoles } from '../../users/users.service';
import { AuthService } from '../auth.service';

/** Username-or-email + password from the JSON login body. */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'username', passwordField: 'password', passReqToCallback: true });
  }

  validate(request: FastifyRequest, username: string, password: string): Promise<UserWithRoles> {
    return this.auth.authenticate(username, password, requestContextOf(request));
  }
}
