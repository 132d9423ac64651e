import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { RoleName } from '../users/entities/role.entity';
import { UsersService, UserWithRoles } from '../users/users.service';
import type { RegisterDto } from './dto/register.dto';
import type { TokenPairDto } from './dto/token-pair.dto';
import { PasswordHasher } from './passwords/password-hasher.service';
import { PASSWORD_MAX_LENGTH, passwordLength } from './passwords/password-policy';
import { AccessTokenService } from './tokens/access-token.service';

// One message for every failed login: unknown name, wrong password, inactive account.
export const INVALID_CREDENTIALS_MESSAGE = 'Invalid username or password';

@Injectable()
export class AuthService implements OnModuleInit {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly accessTokens: AccessTokenService,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    if (this.config.jwt.generated) {
      this.logger.warn(
        'JWT_SECRET is not set: a random signing key was generated for this process. Tokens stop ' +
          'working at restart and are not shared between instances. Set JWT_SECRET (>= 32 bytes).',
      );
    }
  }

  register(input: RegisterDto): Promise<UserWithRoles> {
    return this.users.createAccount(input, [RoleName.User]);
  }

  /**
   * Checks a login name and password. Every failure costs one argon2 verification and ends in
   * the same error, so neither the answer nor its timing tells whether the account exists.
   */
  async authenticate(loginName: string, password: string): Promise<UserWithRoles> {
    if (passwordLength(password) > PASSWORD_MAX_LENGTH) {
      // No stored password can be this long; refuse before hashing (same answer for everyone).
      throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    }
    const user = await this.users.findForLogin(loginName);
    if (user === null) {
      await this.hasher.verifyDummy(password);
      throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    }
    const passwordMatches = await this.hasher.verify(user.passwordHash, password);
    if (!passwordMatches || !user.isActive) {
      throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    }
    if (this.hasher.needsRehash(user.passwordHash)) {
      // Hashes made with older cost parameters are upgraded while the password is at hand.
      await this.users.updatePasswordHash(user.id, await this.hasher.hash(password));
    }
    const found = await this.users.findWithRoles(user.id);
    if (found === null) throw new DomainError('invalid_credentials', INVALID_CREDENTIALS_MESSAGE);
    return found;
  }

  issueTokens({ user, roles }: UserWithRoles): TokenPairDto {
    const access = this.accessTokens.issue({ id: user.id, roles });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn };
  }
}
