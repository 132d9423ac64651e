import { DomainError } from '../../common/errors/domain-error';
import { type JwtModuleOptions, JwtSecretRequestType } from '@nestjs/jwt';
import type { AppConfig } from '../../config/app-config';
import type { JwtAlgorithm } from '../../config/signing-keys';
import { ACCESS_TOKEN_TYPE, verificationKeyFor } from './access-token-checks';

/**
 * What jsonwebtoken checks of an access token, for JwtService and passport-jwt alike: the
 * configured algorithm only, `iss` and `aud`. Expiry and `nbf` are checked against the injected
 * Clock instead (acceptedClaims): jsonwebtoken would read Date.now().
 */
export function accessTokenVerifyOptions(
  jwt: AppConfig['jwt'],
  oidc?: AppConfig['oidc'],
): AccessTokenVerifyOptions {
  return {
    algorithms: [jwt.algorithm],
    // The OpenID Provider issues access tokens for this API too, under its own issuer (SPEC §10).
    issuer:
      oidc === undefined || oidc.issuer === jwt.issuer ? jwt.issuer : [jwt.issuer, oidc.issuer],
    audience: jwt.audience,
    ignoreExpiration: true,
    ignoreNotBefore: true,
  };
}

/** jsonwebtoken's VerifyOptions, as narrow as passport-jwt's top-level options want them. */
export interface AccessTokenVerifyOptions {
  algorithms: JwtAlgorithm[];
  issuer: string | [string, ...string[]];
  audience: string;
  ignoreExpiration: boolean;
  ignoreNotBefore: boolean;
}

/**
 * JwtModule options from the configuration: KeyObject keys (a string secret costs jsonwebtoken
 * a key import on every call), the current key's `kid`, `typ: at+jwt`, and for verification
 * the key {@link verificationKeyFor} picks after the form checks.
 */
export function jwtModuleOptions(config: AppConfig): JwtModuleOptions {
  const { jwt } = config;
  return {
    signOptions: {
      algorithm: jwt.algorithm,
      header: { alg: jwt.algorithm, typ: ACCESS_TOKEN_TYPE },
      ...(jwt.signingKid === undefined ? {} : { keyid: jwt.signingKid }),
    },
    verifyOptions: accessTokenVerifyOptions(jwt, config.oidc),
    secretOrKeyProvider: (requestType, tokenOrPayload) => {
      if (requestType === JwtSecretRequestType.SIGN) return jwt.signingKey;
      const key =
        typeof tokenOrPayload === 'string' ? verificationKeyFor(tokenOrPayload, jwt) : undefined;
      if (key === undefined) {
        throw new DomainError('invalid_token', 'The access token is invalid or expired');
      }
      return key;
    },
  };
}
