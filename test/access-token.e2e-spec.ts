import { SignJWT, UnsecuredJWT } from 'jose';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { User } from '../src/users/entities/user.entity';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

describe('access tokens and the global JWT guard', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  const me = (token?: string) => {
    const request = t.http().get('/api/v1/users/me');
    return token === undefined ? request : request.set('Authorization', `Bearer ${token}`);
  };

  /** The session id (sid claim) of a token the service issued. */
  function sidOf(token: string): string {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
      sid: string;
    };
    return payload.sid;
  }

  /** Signs claims with the service's own key, so only the detail under test is wrong. */
  async function forge(
    claims: Record<string, unknown>,
    options: {
      typ?: string;
      iss?: string;
      aud?: string;
      expiresIn?: number;
      key?: Uint8Array;
    } = {},
  ): Promise<string> {
    const now = t.clock.nowSeconds();
    return new SignJWT({ roles: ['ROLE_USER'], ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: options.typ ?? 'at+jwt' })
      .setIssuer(options.iss ?? t.config.jwt.issuer)
      .setAudience(options.aud ?? t.config.jwt.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresIn ?? 300))
      .setJti(randomUUID())
      .sign(options.key ?? t.config.jwt.signingKey.export());
  }

  function assertInvalidToken(response: {
    status: number;
    headers: Record<string, string>;
    body: { type?: string };
  }): void {
    assert.equal(response.status, 401);
    assert.match(response.headers['www-authenticate'] ?? '', /^Bearer .*error="invalid_token"/);
    assert.equal(response.body.type, 'urn:problem:identity:invalid-token');
  }

  it('issues tokens with the SPEC claims and header', async () => {
    const { token, user } = await createUserWithToken(t);
    const decode = (part: string | undefined): Record<string, unknown> =>
      JSON.parse(Buffer.from(part ?? '', 'base64url').toString()) as Record<string, unknown>;
    const [headerPart, payloadPart] = token.split('.');
    const header = decode(headerPart);
    const payload = decode(payloadPart) as {
      sid: string;
      sub: string;
      iss: string;
      aud: string;
      roles: string[];
      iat: number;
      exp: number;
      jti: string;
    };
    assert.deepEqual(header, { alg: 'HS256', typ: 'at+jwt' });
    assert.equal(payload.sub, user.id);
    assert.equal(payload.iss, t.config.jwt.issuer);
    assert.equal(payload.aud, t.config.jwt.audience);
    assert.deepEqual(payload.roles, ['ROLE_USER']);
    assert.match(payload.sid, /^[0-9a-f-]{36}$/);
    assert.equal(payload.exp - payload.iat, 900);
    assert.match(payload.jti, /^[0-9a-f-]{36}$/);
  });

  it('answers 401 with WWW-Authenticate: Bearer when no token is sent', async () => {
    const response = await me();
    assert.equal(response.status, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="api"');
  });

  it('accepts its own token', async () => {
    const { token } = await createUserWithToken(t);
    await me(token).expect(200);
  });

  it('rejects a token whose payload was tampered with, also after the real one was used', async () => {
    const { token } = await createUserWithToken(t);
    // The real token is remembered as verified, keyed by its signature: a forgery that keeps
    // the signature must not be taken for it.
    await me(token).expect(200);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    claims.roles = ['ROLE_ADMIN'];
    const tampered = [
      header,
      Buffer.from(JSON.stringify(claims)).toString('base64url'),
      signature,
    ].join('.');
    assertInvalidToken(await me(tampered));
    await me(token).expect(200);
  });

  it('rejects alg: none', async () => {
    const { user, token } = await createUserWithToken(t);
    const now = t.clock.nowSeconds();
    const unsigned = new UnsecuredJWT({
      sub: user.id,
      sid: sidOf(token),
      roles: ['ROLE_ADMIN'],
      jti: randomUUID(),
    })
      .setIssuer(t.config.jwt.issuer)
      .setAudience(t.config.jwt.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .encode();
    assertInvalidToken(await me(unsigned));
  });

  it('rejects another algorithm and another key', async () => {
    const { user, token } = await createUserWithToken(t);
    const now = t.clock.nowSeconds();
    const hs512 = await new SignJWT({
      sub: user.id,
      sid: sidOf(token),
      roles: ['ROLE_USER'],
      jti: randomUUID(),
    })
      .setProtectedHeader({ alg: 'HS512', typ: 'at+jwt' })
      .setIssuer(t.config.jwt.issuer)
      .setAudience(t.config.jwt.audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .sign(t.config.jwt.signingKey.export());
    assertInvalidToken(await me(hs512));
    assertInvalidToken(
      await me(await forge({ sub: user.id, sid: sidOf(token) }, { key: randomBytes(32) })),
    );
  });

  it('rejects a wrong issuer, a wrong audience and a wrong typ', async () => {
    const { user, token } = await createUserWithToken(t);
    const claims = { sub: user.id, sid: sidOf(token) };
    await me(await forge(claims)).expect(200);
    assertInvalidToken(await me(await forge(claims, { iss: 'https://evil.example' })));
    assertInvalidToken(await me(await forge(claims, { aud: 'another-api' })));
    assertInvalidToken(await me(await forge(claims, { typ: 'JWT' })));
    assertInvalidToken(await me(await forge({ sub: user.id })));
    assertInvalidToken(
      await me(await forge({ ...claims, sub: '00000000-0000-4000-8000-000000000000' })),
    );
  });

  it('rejects an expired token (time moved by the injected clock)', async () => {
    const { token } = await createUserWithToken(t);
    await me(token).expect(200);
    t.clock.advance(899);
    await me(token).expect(200);
    t.clock.advance(2);
    assertInvalidToken(await me(token));
    t.clock.advance(-901);
  });

  it('rejects the token of a user deactivated in the database on the next request', async () => {
    const { token, user } = await createUserWithToken(t);
    await me(token).expect(200);
    await t.dataSource.getRepository(User).update({ id: user.id }, { isActive: false });
    assertInvalidToken(await me(token));
  });

  it('rejects the token of a deleted user', async () => {
    const { token, user } = await createUserWithToken(t);
    await t.dataSource.getRepository(User).delete({ id: user.id });
    assertInvalidToken(await me(token));
  });

  it('rejects garbage and non-bearer schemes', async () => {
    assertInvalidToken(await me('not.a.jwt'));
    const basic = await t
      .http()
      .get('/api/v1/users/me')
      .set('Authorization', 'Basic YWxpY2U6cGFzcw==');
    assert.equal(basic.status, 401);
  });

  it('ignores a token in the query string', async () => {
    const { token } = await createUserWithToken(t);
    const response = await t.http().get(`/api/v1/users/me?access_token=${token}`);
    assert.equal(response.status, 401);
  });
});
