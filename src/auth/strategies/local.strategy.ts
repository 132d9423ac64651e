import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-local';
import type { UserWithRoles } from '../../users/users.service';
import { AuthService } from '../auth.service';

/** Username-or-email + password from the JSON login body. */
@Injectable()
export class LocalStrategy extends PassportStrategy(Strategy, 'local') {
  constructor(private readonly auth: AuthService) {
    super({ usernameField: 'username', passwordField: 'password' });
  }

  validate(username: string, password: string): Promise<UserWithRoles> {
    return this.auth.authenticate(username, password);
  }
}
