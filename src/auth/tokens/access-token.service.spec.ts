import { JwtService } from '@nestjs/jwt';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { TestClock } from '../../../test/helpers/test-clock';
import { DomainError } from '../../common/errors/domain-error';
import { type AppConfig, loadAppConfig } from '../../config/app-config';
import { RoleName } from '../../access/role-name';
import { AccessTokenService } from './access-token.service';
import { jwtModuleOptions } from './jwt-options';

const SECRET = randomBytes(32).toString('base64url');
const SUBJECT = {
  userId: '7d0c4c5e-2f7a-4e8e-9a57-0d1f1d3f6a11',
  sessionId: 'b4e0f8a2-9c1d-4f3e-8a6b-2c5d7e9f0a13',
  roles: [RoleName.User],
};

function serviceFor(env: Record<string, string>, clock = new TestClock()) {
  const config = loadAppConfig({ NODE_ENV: 'test', JWT_SECRET: SECRET, ...env });
  const jwt = new JwtService(jwtModuleOptions(config));
  return { config, clock, jwt, tokens: new AccessTokenService(config, clock, jwt) };
}

function assertRefused(verify: () => unknown): void {
  assert.throws(verify, (error: unknown) => {
    return error instanceof DomainError && error.code === 'invalid_token';
  });
}

function headerOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

function ecPem(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

describe('AccessTokenService', () => {
  it('issues an HS256 token JwtService verifies back to the same claims', () => {
    const { tokens, config, clock } = serviceFor({});
    const { token, expiresIn } = tokens.issue(SUBJECT);
    assert.equal(expiresIn, 900);
    assert.deepEqual(headerOf(token), { alg: 'HS256', typ: 'at+jwt' });
    const claims = tokens.verify(token);
    assert.deepEqual(
      { ...claims, jti: undefined },
      {
        iss: config.jwt.issuer,
        aud: config.jwt.audience,
        sub: SUBJECT.userId,
        sid: SUBJECT.sessionId,
        roles: ['ROLE_USER'],
        iat: clock.nowSeconds(),
        exp: clock.nowSeconds() + 900,
        jti: undefined,
        amr: ['pwd'],
      },
    );
  });

  it('carries the proof of the session: amr, mfa_time (never after iat), the enrolment flag', () => {
    const { tokens, clock } = serviceFor({});
    const mfaAt = new Date(clock.now().getTime() - 60_500);
    const claims = tokens.verify(
      tokens.issue({ ...SUBJECT, proof: { amr: ['pwd', 'otp', 'mfa'], mfaAt }, mfaEnrolment: true })
        .token,
    );
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(claims.mfa_time, Math.floor(mfaAt.getTime() / 1000));
    assert.equal(claims.mfa_enrolment, true);
    const plain = tokens.verify(tokens.issue(SUBJECT).token);
    assert.equal('mfa_time' in plain || 'mfa_enrolment' in plain, false);
  });

  it('issues ES256 tokens under the key thumbprint kid', () => {
    const { tokens, config } = serviceFor({
      JWT_ALGORITHM: 'ES256',
      JWT_PRIVATE_KEY: ecPem().privatePem,
    });
    const { token } = tokens.issue(SUBJECT);
    assert.deepEqual(headerOf(token), { alg: 'ES256', typ: 'at+jwt', kid: config.jwt.signingKid });
    assert.equal(tokens.verify(token).sub, SUBJECT.userId);
  });

  it('judges expiry by the injected clock, not the system time', () => {
    const clock = new TestClock();
    clock.advance(-10 * 365 * 86400);
    const { tokens } = serviceFor({}, clock);
    const { token } = tokens.issue(SUBJECT);
    assert.equal(tokens.verify(token).sub, SUBJECT.userId);
    clock.advance(899);
    tokens.verify(token);
    clock.advance(1);
    assertRefused(() => tokens.verify(token));
    // A token from a clock ahead of ours by more than the skew is not valid yet.
    assertRefused(() => tokens.verify(token, clock.nowSeconds() - 900 - 61));
  });

  it('refuses a wrong typ, issuer or audience under the right key', () => {
    const { tokens, jwt } = serviceFor({});
    const { token } = tokens.issue(SUBJECT);
    const claims = tokens.verify(token);
    // A header without our typ gets jsonwebtoken's default, 'JWT'.
    assertRefused(() => tokens.verify(jwt.sign({ ...claims }, { header: { alg: 'HS256' } })));
    assertRefused(() =>
      tokens.verify(jwt.sign({ ...claims }, { header: { alg: 'HS256', typ: 'rt+jwt' } })),
    );
    const others: Record<string, string>[] = [
      { JWT_ISSUER: 'https://evil.example' },
      { JWT_AUDIENCE: 'another-api' },
    ];
    for (const env of others) {
      const other = serviceFor(env);
      assertRefused(() => tokens.verify(other.tokens.issue(SUBJECT).token));
    }
  });

  it('refuses a lifetime longer than ACCESS_TOKEN_TTL', () => {
    const clock = new TestClock();
    const longLived = serviceFor({ ACCESS_TOKEN_TTL: '901' }, clock).tokens.issue(SUBJECT).token;
    const { tokens } = serviceFor({ ACCESS_TOKEN_TTL: '900' }, clock);
    assertRefused(() => tokens.verify(longLived));
    const { tokens: tolerant } = serviceFor({ ACCESS_TOKEN_TTL: '901' }, clock);
    assert.equal(tolerant.verify(longLived).exp - tolerant.verify(longLived).iat, 901);
  });

  it('refuses what is not one of its tokens', () => {
    const { tokens } = serviceFor({});
    const { tokens: otherSecret } = serviceFor({ JWT_SECRET: randomBytes(32).toString('hex') });
    for (const token of ['', 'not.a.jwt', 'a.b', otherSecret.issue(SUBJECT).token]) {
      assertRefused(() => tokens.verify(token));
    }
  });

  describe('key rotation', () => {
    const previous = ecPem();
    const current = ecPem();
    const clock = new TestClock();
    const onPrevious = serviceFor(
      { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: previous.privatePem },
      clock,
    );
    const rotated = serviceFor(
      {
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: current.privatePem,
        JWT_PREVIOUS_PUBLIC_KEYS: previous.publicPem,
      },
      clock,
    );
    const kidOf = (config: AppConfig) => config.jwt.signingKid;

    it('verifies tokens of the previous key by their kid and signs with the current one', () => {
      const oldToken = onPrevious.tokens.issue(SUBJECT).token;
      assert.equal(headerOf(oldToken).kid, kidOf(onPrevious.config));
      assert.equal(rotated.tokens.verify(oldToken).sub, SUBJECT.userId);
      const newToken = rotated.tokens.issue(SUBJECT).token;
      assert.equal(headerOf(newToken).kid, kidOf(rotated.config));
      assert.notEqual(kidOf(rotated.config), kidOf(onPrevious.config));
      rotated.tokens.verify(newToken);
    });

    it('refuses the previous key once it is no longer listed, and a kid of another key', () => {
      const oldToken = onPrevious.tokens.issue(SUBJECT).token;
      const { tokens: currentOnly } = serviceFor(
        { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: current.privatePem },
        clock,
      );
      assertRefused(() => currentOnly.verify(oldToken));
      // The previous key's signature under the current key's kid.
      const claims = rotated.tokens.verify(oldToken);
      const mislabelled = onPrevious.jwt.sign(
        { ...claims },
        { keyid: kidOf(rotated.config) ?? '' },
      );
      assert.equal(headerOf(mislabelled).kid, kidOf(rotated.config));
      assertRefused(() => rotated.tokens.verify(mislabelled));
    });
  });
});
