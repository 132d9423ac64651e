import { SignJWT, UnsecuredJWT } from 'jose';
import assert from 'node:assert/strict';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
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

  describe('strict token form (SPEC §4)', () => {
    const b64 = (text: string): string => Buffer.from(text).toString('base64url');

    /**
     * A token from raw segment texts, HMAC-signed with the service's own key over exactly the
     * segments given, so only the flaw put into them can make it fail.
     */
    function signRaw(encodedHeader: string, encodedPayload: string): string {
      const input = `${encodedHeader}.${encodedPayload}`;
      const signature = createHmac('sha256', t.config.jwt.signingKey)
        .update(input)
        .digest('base64url');
      return `${input}.${signature}`;
    }

    const HEADER = JSON.stringify({ alg: 'HS256', typ: 'at+jwt' });

    /** The claims of a real session, as the service writes them, with `overrides`. */
    async function sessionClaims(
      overrides: Record<string, unknown> = {},
    ): Promise<Record<string, unknown>> {
      const { user, token } = await createUserWithToken(t);
      const now = t.clock.nowSeconds();
      return {
        iss: t.config.jwt.issuer,
        aud: t.config.jwt.audience,
        sub: user.id,
        sid: sidOf(token),
        roles: ['ROLE_USER'],
        iat: now,
        exp: now + 900,
        jti: randomUUID(),
        ...overrides,
      };
    }

    const signClaims = (claims: Record<string, unknown>, header = HEADER): string =>
      signRaw(b64(header), b64(JSON.stringify(claims)));

    /** Another spelling of the same bytes: the last character with other unused low bits. */
    function otherUnusedBits(segment: string): string {
      const unusedBits = { 2: 4, 3: 2 }[segment.length % 4];
      assert.ok(unusedBits !== undefined, `no unused bits in a segment of ${segment.length}`);
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(segment.slice(-1));
      return segment.slice(0, -1) + alphabet.charAt(last | 1);
    }

    /** `value` with a filler member, as JSON text whose base64url satisfies `wanted`. */
    function textWhere(
      value: Record<string, unknown>,
      filler: string,
      wanted: (encoded: string) => boolean,
      fill = 'x',
    ): string {
      for (let length = 1; length < 100; length += 1) {
        const text = JSON.stringify({ ...value, [filler]: fill.repeat(length) });
        if (wanted(b64(text))) return text;
      }
      throw new Error('no such filler');
    }

    /** JSON text whose base64url has unused bits (its length is not a multiple of 4). */
    const withUnusedBits = (value: Record<string, unknown>, filler: string): string =>
      textWhere(value, filler, (encoded) => encoded.length % 4 !== 0);

    it('accepts a hand-signed token written as the service writes it, so the cases below fail only on their flaw', async () => {
      await me(signClaims(await sessionClaims())).expect(200);
      const claims = await sessionClaims({ nbf: t.clock.nowSeconds() + 30 });
      // nbf and iat may be ahead by the clock skew between instances (60 s).
      await me(signClaims({ ...claims, iat: t.clock.nowSeconds() + 30 })).expect(200);
      await me(signClaims(JSON.parse(withUnusedBits(await sessionClaims(), 'x')))).expect(200);
      await me(
        signRaw(
          b64(withUnusedBits({ alg: 'HS256', typ: 'at+jwt' }, 'kid')),
          b64(JSON.stringify(await sessionClaims())),
        ),
      ).expect(200);
    });

    it('refuses an nbf in the future beyond the clock skew, and one that is not a number', async () => {
      const now = t.clock.nowSeconds();
      for (const nbf of [now + 61, now + 3600, String(now), null]) {
        assertInvalidToken(await me(signClaims(await sessionClaims({ nbf }))));
      }
      // A token remembered as verified is not let through once the clock is back before nbf.
      const later = signClaims(await sessionClaims({ nbf: now + 60 }));
      await me(later).expect(200);
      t.clock.advance(-1);
      try {
        assertInvalidToken(await me(later));
      } finally {
        t.clock.advance(1);
      }
    });

    it('refuses an exp or iat that is not a finite integer', async () => {
      const claims = await sessionClaims();
      const text = JSON.stringify(claims);
      // 1e999 parses to Infinity; the signature covers the text as written.
      assertInvalidToken(
        await me(signRaw(b64(HEADER), b64(text.replace(/"exp":\d+/, '"exp":1e999')))),
      );
      const now = t.clock.nowSeconds();
      for (const overrides of [
        { exp: now + 300.5 },
        { exp: String(now + 300) },
        { iat: now - 0.5 },
        { iat: null },
      ]) {
        assertInvalidToken(await me(signClaims({ ...claims, ...overrides })));
      }
    });

    it('refuses a lifetime (exp - iat) longer than ACCESS_TOKEN_TTL', async () => {
      const now = t.clock.nowSeconds();
      assert.equal(t.config.jwt.accessTokenTtlSeconds, 900);
      await me(signClaims(await sessionClaims({ iat: now - 100, exp: now + 800 }))).expect(200);
      for (const overrides of [
        { exp: now + 901 },
        { iat: now - 100, exp: now + 801 },
        { exp: now + 10 * 365 * 86400 },
        { iat: now + 30, exp: now + 20 },
      ]) {
        assertInvalidToken(await me(signClaims(await sessionClaims(overrides))));
      }
    });

    it('refuses duplicate member names in the payload and in the header', async () => {
      const claims = await sessionClaims();
      const text = JSON.stringify(claims);
      // JSON.parse keeps the last of two names, so the real value goes last.
      const payloads = [
        text.replace('{', '{"sub":"00000000-0000-4000-8000-000000000000",'),
        text.replace('{', '{"roles":["ROLE_ADMIN"],'),
        text.replace('{', `{"exp":${t.clock.nowSeconds() + 86400},`),
      ];
      for (const payload of payloads) {
        assertInvalidToken(await me(signRaw(b64(HEADER), b64(payload))));
      }
      const headers = [
        '{"alg":"none","alg":"HS256","typ":"at+jwt"}',
        '{"alg":"HS256","typ":"JWT","typ":"at+jwt"}',
      ];
      for (const header of headers) {
        assertInvalidToken(await me(signRaw(b64(header), b64(text))));
      }
    });

    it('refuses JSON the service would not write: whitespace, other escapes or number forms', async () => {
      const claims = await sessionClaims();
      const text = JSON.stringify(claims);
      for (const payload of [
        ` ${text}`,
        text.replace('"sub"', '"\\u0073ub"'),
        text.replace(/"iat":(\d+)/, '"iat":$1.0'),
        // Not UTF-8: a decoder would make it U+FFFD.
        Buffer.concat([Buffer.from(text.slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')]),
      ]) {
        const encoded = Buffer.from(payload).toString('base64url');
        assertInvalidToken(await me(signRaw(b64(HEADER), encoded)));
      }
    });

    it('refuses non-canonical base64url in the header, the payload and the signature', async () => {
      const payload = b64(withUnusedBits(await sessionClaims(), 'x'));
      const header = b64(withUnusedBits({ alg: 'HS256', typ: 'at+jwt' }, 'kid'));
      await me(signRaw(header, payload)).expect(200);
      assertInvalidToken(await me(signRaw(otherUnusedBits(header), payload)));
      assertInvalidToken(await me(signRaw(header, otherUnusedBits(payload))));
      // Padding, and a character the decoder drops (a length of 4n + 1), each signed as written.
      const claims = await sessionClaims();
      const whole = b64(textWhere(claims, 'x', (encoded) => encoded.length % 4 === 0));
      for (const [h, p] of [
        [`${header}=`, payload],
        [header, `${payload}==`],
        [b64(HEADER), `${whole}A`],
      ] as const) {
        assertInvalidToken(await me(signRaw(h, p)));
      }
      // The standard alphabet's '+' and '/' for '-' and '_': the same bytes to a lenient decoder.
      // ('~' is 0x7e: its low six bits are '-' or '_' in one of the three positions.)
      const urlSafe = b64(textWhere(claims, 'y', (encoded) => /[-_]/.test(encoded), '~'));
      await me(signRaw(b64(HEADER), urlSafe)).expect(200);
      const standard = urlSafe.replace(/-/g, '+').replace(/_/g, '/');
      assertInvalidToken(await me(signRaw(b64(HEADER), standard)));
      // The signature with other unused low bits, right after the real token was remembered.
      const { token } = await createUserWithToken(t);
      await me(token).expect(200);
      const [h, p, signature] = token.split('.') as [string, string, string];
      assertInvalidToken(await me(`${h}.${p}.${otherUnusedBits(signature)}`));
      assertInvalidToken(await me(`${h}.${p}.${signature}=`));
      await me(token).expect(200);
    });
  });

  it('ignores a token in the query string', async () => {
    const { token } = await createUserWithToken(t);
    const response = await t.http().get(`/api/v1/users/me?access_token=${token}`);
    assert.equal(response.status, 401);
  });
});
