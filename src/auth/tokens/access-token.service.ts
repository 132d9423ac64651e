import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { Clock } from '../../common/clock/clock';
import { AppConfig } from '../../config/app-config';
import type { RoleName } from '../../users/entities/role.entity';

/** Header `typ` of our access tokens (RFC 9068), so no other JWT can stand in for one. */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  roles: RoleName[];
  iat: number;
  exp: number;
  jti: string;
}

@Injectable()
export class AccessTokenService {
  constructor(
    private readonly jwt: JwtService,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  issue(subject: { id: string; roles: RoleName[] }): { token: string; expiresIn: number } {
    const now = this.clock.nowSeconds();
    const expiresIn = this.config.jwt.accessTokenTtlSeconds;
    const token = this.jwt.sign(
      // iat and exp come from the injected clock; jsonwebtoken would read the system clock.
      { sub: subject.id, roles: subject.roles, iat: now, exp: now + expiresIn, jti: randomUUID() },
      {
        algorithm: this.config.jwt.algorithm,
        issuer: this.config.jwt.issuer,
        audience: this.config.jwt.audience,
        header: { alg: this.config.jwt.algorithm, typ: ACCESS_TOKEN_TYPE },
      },
    );
    return { token, expiresIn };
  }
}
