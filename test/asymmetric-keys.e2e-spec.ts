import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  JSONWebKeySet,
  JWK,
  jwtVerify,
  SignJWT,
} from 'jose';
import assert from 'node:assert/strict';
import { generateKeyPairSync, KeyObject, randomUUID, sign } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Response } from 'supertest';
import { loadAppConfig } from '../src/config/app-config';
import { ConfigurationError } from '../src/config/environment';
import { createUserWithToken } from './helpers/factories';
import { createTestApp, TestApp } from './helpers/test-app';

type AsymmetricAlgorithm = 'ES256' | 'RS256' | 'PS256';

interface KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privatePem: string;
  publicPem: string;
}

function generateKeyPair(algorithm: AsymmetricAlgorithm, rsaBits = 2048): KeyPair {
  const { privateKey, publicKey } =
    algorithm === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('rsa', { modulusLength: rsaBits });
  return {
    privateKey,
    publicKey,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

/** The RFC 7638 thumbprint jose computes, to check the service's `kid` independently. */
function kidOf(key: KeyPair): Promise<string> {
  return calculateJwkThumbprint(key.publicKey.export({ format: 'jwk' }), 'sha256');
}

const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

async function fetchJwks(t: TestApp): Promise<JSONWebKeySet> {
  const response = await t.http().get('/.well-known/jwks.json').expect(200);
  return response.body as JSONWebKeySet;
}

const me = (t: TestApp, token: string) =>
  t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);

function assertInvalidToken(response: Response): void {
  assert.equal(response.status, 401);
  assert.match(response.headers['www-authenticate'] ?? '', /^Bearer .*error="invalid_token"/);
}

/** Verifies a service token with jose, through the service's own JWKS only. */
async function verifyWithJose(t: TestApp, token: string, algorithm: AsymmetricAlgorithm) {
  return jwtVerify(token, createLocalJWKSet(await fetchJwks(t)), {
    issuer: t.config.jwt.issuer,
    audience: t.config.jwt.audience,
    algorithms: [algorithm],
    typ: 'at+jwt',
    currentDate: t.clock.now(),
  });
}

/** A token with the claims of a real session of `t`, signed by jose with whatever we choose. */
function forge(
  t: TestApp,
  realToken: string,
  options: {
    alg: string;
    key: KeyObject | Uint8Array;
    kid?: string;
    header?: Record<string, unknown>;
  },
): Promise<string> {
  const { sub, sid, roles } = decodeJwt(realToken);
  const now = t.clock.nowSeconds();
  return new SignJWT({ sid, roles })
    .setProtectedHeader({
      alg: options.alg,
      typ: 'at+jwt',
      ...(options.kid === undefined ? {} : { kid: options.kid }),
      ...options.header,
    })
    .setSubject(sub ?? '')
    .setIssuer(t.config.jwt.issuer)
    .setAudience(t.config.jwt.audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .setJti(randomUUID())
    .sign(options.key);
}

/**
 * An ES256 token over exactly the header and payload given (jose would refuse to write some
 * of the headers under test), signed with node:crypto in the JOSE (IEEE P1363) form.
 */
function signEs256Raw(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
): string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

describe('ES256 access tokens and the JWKS endpoint', () => {
  const signing = generateKeyPair('ES256');
  let t: TestApp;
  let kid: string;
  before(async () => {
    // The PEM goes in with real newlines, as it would from a multi-line env file.
    t = await createTestApp({
      env: { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: signing.privatePem },
    });
    kid = await kidOf(signing);
  });
  after(async () => {
    await t.close();
  });

  it('serves the public key as a JWKS at the root path, without authentication', async () => {
    const response = await t.http().get('/.well-known/jwks.json').expect(200);
    const { keys } = response.body as JSONWebKeySet;
    assert.equal(keys.length, 1);
    const [jwk] = keys as [JWK];
    const { kty, crv, x, y } = signing.publicKey.export({ format: 'jwk' });
    assert.deepEqual(
      { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, alg: jwk.alg, use: jwk.use, kid: jwk.kid },
      { kty, crv, x, y, alg: 'ES256', use: 'sig', kid },
    );
    for (const member of PRIVATE_JWK_MEMBERS)
      assert.equal(member in jwk, false, `JWKS leaks "${member}"`);

    await t.http().get('/api/v1/.well-known/jwks.json').expect(404);
  });

  it('signs login tokens with ES256 under the published kid, verifiable by jose', async () => {
    const { token, user } = await createUserWithToken(t);
    assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: 'at+jwt', kid });
    const { payload } = await verifyWithJose(t, token, 'ES256');
    assert.equal(payload.sub, user.id);
  });

  it('accepts its own ES256 token on the API', async () => {
    const { token } = await createUserWithToken(t);
    await me(t, token).expect(200);
  });

  it('accepts a token jose signs with the real key, so the forgeries below fail only on their flaw', async () => {
    const { token } = await createUserWithToken(t);
    await me(t, await forge(t, token, { alg: 'ES256', key: signing.privateKey, kid })).expect(200);
    const { header, payload } = { header: decodeProtectedHeader(token), payload: decodeJwt(token) };
    await me(t, signEs256Raw(header, payload, signing.privateKey)).expect(200);
  });

  it('rejects HS256 tokens keyed with the public key (algorithm confusion)', async () => {
    const { token } = await createUserWithToken(t);
    const { x } = signing.publicKey.export({ format: 'jwk' }) as { x: string };
    const secrets = [
      Buffer.from(signing.publicPem),
      Buffer.from(signing.publicPem.trim()),
      Buffer.from(x),
      Buffer.from(x, 'base64url'),
    ];
    for (const secret of secrets) {
      assertInvalidToken(await me(t, await forge(t, token, { alg: 'HS256', key: secret, kid })));
    }
  });

  it('rejects a token signed by another P-256 key that claims the real kid', async () => {
    const { token } = await createUserWithToken(t);
    const other = generateKeyPair('ES256');
    assertInvalidToken(
      await me(t, await forge(t, token, { alg: 'ES256', key: other.privateKey, kid })),
    );
  });

  it('rejects a token with an unknown kid or none at all, even when the signature is good', async () => {
    const { token } = await createUserWithToken(t);
    const other = generateKeyPair('ES256');
    for (const unknownKid of [await kidOf(other), 'unknown', '', '__proto__', '../../dev/null']) {
      assertInvalidToken(
        await me(
          t,
          await forge(t, token, { alg: 'ES256', key: signing.privateKey, kid: unknownKid }),
        ),
      );
    }
    assertInvalidToken(
      await me(t, await forge(t, token, { alg: 'ES256', key: signing.privateKey })),
    );
    // A kid that is not a string, over the real signature.
    const header = { ...decodeProtectedHeader(token), kid: [kid] };
    assertInvalidToken(await me(t, signEs256Raw(header, decodeJwt(token), signing.privateKey)));
  });

  it('never takes the key from the token: jwk, jku, x5u and x5c are not honoured', async () => {
    const { token } = await createUserWithToken(t);
    const attacker = generateKeyPair('ES256');
    const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
    const headers: Record<string, unknown>[] = [
      { jwk: attackerJwk },
      { jwk: { ...attackerJwk, kid }, kid },
      { jwk: attackerJwk, kid: await kidOf(attacker) },
      { jku: 'https://attacker.example/jwks.json', kid },
      { x5u: 'https://attacker.example/cert.pem', kid },
      { x5c: ['MIIBszCCAVmgAwIBAgIUV'], kid },
    ];
    for (const header of headers) {
      assertInvalidToken(
        await me(t, await forge(t, token, { alg: 'ES256', key: attacker.privateKey, header })),
      );
    }
  });

  it('refuses a crit header and a wrong typ, even under the real key and kid', async () => {
    const { token } = await createUserWithToken(t);
    const payload = decodeJwt(token);
    const header = decodeProtectedHeader(token);
    for (const flawed of [
      { ...header, crit: ['exp'] },
      { ...header, crit: ['x-ours'], 'x-ours': true },
      { ...header, typ: 'JWT' },
      { alg: header.alg, kid },
    ]) {
      assertInvalidToken(await me(t, signEs256Raw(flawed, payload, signing.privateKey)));
    }
  });

  it('rejects the real signature spelt with other unused low bits', async () => {
    const { token } = await createUserWithToken(t);
    await me(t, token).expect(200);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    // 64 bytes are 86 characters, the last carrying 4 unused bits: a lenient decoder ignores them.
    assert.equal(signature.length % 4, 2);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.charAt(alphabet.indexOf(signature.slice(-1)) | 1);
    assertInvalidToken(await me(t, `${header}.${payload}.${signature.slice(0, -1)}${last}`));
    await me(t, token).expect(200);
  });

  it('rejects a DER-encoded signature (ES256 signatures are 64-byte r || s)', async () => {
    const { token } = await createUserWithToken(t);
    const [header, payload] = token.split('.') as [string, string, string];
    const der = sign('sha256', Buffer.from(`${header}.${payload}`), signing.privateKey);
    assertInvalidToken(await me(t, `${header}.${payload}.${der.toString('base64url')}`));
  });

  it('rejects alg: none', async () => {
    const { token } = await createUserWithToken(t);
    const [, payload] = token.split('.') as [string, string, string];
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid })).toString(
      'base64url',
    );
    assertInvalidToken(await me(t, `${header}.${payload}.`));
    // The real signature kept, in case "none" only skips the check when the signature is empty.
    assertInvalidToken(await me(t, `${header}.${token.split('.').slice(1).join('.')}`));
  });
});

describe('signing key rotation (JWT_PREVIOUS_PUBLIC_KEYS)', () => {
  const previous = generateKeyPair('ES256');
  const current = generateKeyPair('ES256');
  let t: TestApp;
  let previousKid: string;
  let currentKid: string;
  before(async () => {
    t = await createTestApp({
      env: {
        JWT_ALGORITHM: 'ES256',
        JWT_PRIVATE_KEY: current.privatePem,
        JWT_PREVIOUS_PUBLIC_KEYS: previous.publicPem,
      },
    });
    [previousKid, currentKid] = await Promise.all([kidOf(previous), kidOf(current)]);
  });
  after(async () => {
    await t.close();
  });

  it('publishes both keys and signs new tokens with the current one', async () => {
    const { keys } = await fetchJwks(t);
    assert.deepEqual(keys.map((jwk) => jwk.kid).sort(), [currentKid, previousKid].sort());
    for (const jwk of keys) {
      for (const member of PRIVATE_JWK_MEMBERS)
        assert.equal(member in jwk, false, `JWKS leaks "${member}"`);
    }

    const { token } = await createUserWithToken(t);
    assert.equal(decodeProtectedHeader(token).kid, currentKid);
    await verifyWithJose(t, token, 'ES256');
  });

  it('accepts a token signed with the previous key under its kid', async () => {
    // Tokens of an instance still on the old key, for a session this instance knows.
    const { token } = await createUserWithToken(t);
    const oldKeyToken = await forge(t, token, {
      alg: 'ES256',
      key: previous.privateKey,
      kid: previousKid,
    });
    await me(t, oldKeyToken).expect(200);
    await verifyWithJose(t, oldKeyToken, 'ES256');
  });

  it("rejects a previous-key signature presented under the current key's kid", async () => {
    const { token } = await createUserWithToken(t);
    assertInvalidToken(
      await me(
        t,
        await forge(t, token, { alg: 'ES256', key: previous.privateKey, kid: currentKid }),
      ),
    );
  });

  it('refuses a previous key that does not fit the algorithm, naming JWT_PREVIOUS_PUBLIC_KEYS', () => {
    const wrongCurve = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey;
    for (const wrong of [
      generateKeyPair('RS256').publicPem,
      wrongCurve.export({ type: 'spki', format: 'pem' }).toString(),
    ]) {
      assert.throws(
        () =>
          loadAppConfig({
            JWT_ALGORITHM: 'ES256',
            JWT_PRIVATE_KEY: current.privatePem,
            JWT_PREVIOUS_PUBLIC_KEYS: `${previous.publicPem}${wrong}`,
          }),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.problems.some((problem) => problem.startsWith('JWT_PREVIOUS_PUBLIC_KEYS:')),
      );
    }
  });
});

for (const algorithm of ['ES256', 'RS256', 'PS256'] as const) {
  describe(`${algorithm} access tokens`, () => {
    const signing = generateKeyPair(algorithm);
    let t: TestApp;
    before(async () => {
      t = await createTestApp({
        env: { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: signing.privatePem },
      });
    });
    after(async () => {
      await t.close();
    });

    it('publishes the public key and issues tokens jose verifies through the JWKS', async () => {
      const { keys } = await fetchJwks(t);
      assert.equal(keys.length, 1);
      const [jwk] = keys as [JWK];
      assert.equal(jwk.kty, algorithm === 'ES256' ? 'EC' : 'RSA');
      assert.equal(jwk.alg, algorithm);
      assert.equal(jwk.kid, await kidOf(signing));
      for (const member of PRIVATE_JWK_MEMBERS)
        assert.equal(member in jwk, false, `JWKS leaks "${member}"`);

      const { token } = await createUserWithToken(t);
      assert.deepEqual(decodeProtectedHeader(token), {
        alg: algorithm,
        typ: 'at+jwt',
        kid: jwk.kid,
      });
      await verifyWithJose(t, token, algorithm);
      await me(t, token).expect(200);
    });

    if (algorithm === 'ES256') return;
    const other = algorithm === 'RS256' ? 'PS256' : 'RS256';

    it(`accepts ${algorithm} signed by jose with the real key, and refuses ${other} with that same key`, async () => {
      const { token } = await createUserWithToken(t);
      const kid = await kidOf(signing);
      await me(t, await forge(t, token, { alg: algorithm, key: signing.privateKey, kid })).expect(
        200,
      );
      assertInvalidToken(
        await me(t, await forge(t, token, { alg: other, key: signing.privateKey, kid })),
      );
    });

    it('rejects HS256 tokens keyed with the public key (RS to HS confusion)', async () => {
      const { token } = await createUserWithToken(t);
      const kid = await kidOf(signing);
      for (const secret of [signing.publicPem, signing.publicPem.trim()]) {
        assertInvalidToken(
          await me(t, await forge(t, token, { alg: 'HS256', key: Buffer.from(secret), kid })),
        );
      }
    });
  });
}

describe('asymmetric signing key configuration', () => {
  function assertProblemNaming(env: Record<string, string>, variable: string): string[] {
    let problems: string[] = [];
    assert.throws(
      () => loadAppConfig(env),
      (error: unknown) => {
        problems = error instanceof ConfigurationError ? error.problems : [];
        return problems.some((problem) => problem.startsWith(`${variable}:`));
      },
    );
    return problems;
  }

  it('refuses a private key of the wrong type for the algorithm', () => {
    assertProblemNaming(
      { JWT_ALGORITHM: 'ES256', JWT_PRIVATE_KEY: generateKeyPair('RS256').privatePem },
      'JWT_PRIVATE_KEY',
    );
    assertProblemNaming(
      { JWT_ALGORITHM: 'PS256', JWT_PRIVATE_KEY: generateKeyPair('ES256').privatePem },
      'JWT_PRIVATE_KEY',
    );
  });

  it('refuses an RSA key under 2048 bits for RS256 and PS256', () => {
    const small = generateKeyPair('RS256', 1024);
    for (const algorithm of ['RS256', 'PS256']) {
      const problems = assertProblemNaming(
        { JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY: small.privatePem },
        'JWT_PRIVATE_KEY',
      );
      assert.match(problems.join(), new RegExp(`${algorithm} needs an RSA key of at least 2048`));
    }
  });

  it('requires a private key in production', () => {
    assertProblemNaming({ NODE_ENV: 'production', JWT_ALGORITHM: 'ES256' }, 'JWT_PRIVATE_KEY');
  });

  it('refuses JWT_ALGORITHM=EdDSA at boot, naming ES256 as the replacement', () => {
    const ed25519 = generateKeyPairSync('ed25519')
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const envs: Record<string, string>[] = [
      { JWT_ALGORITHM: 'EdDSA' },
      { JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY: ed25519 },
    ];
    for (const env of envs) {
      const problems = assertProblemNaming(env, 'JWT_ALGORITHM');
      assert.match(problems.join(), /^JWT_ALGORITHM: EdDSA .*ES256/);
    }
    assert.match(
      assertProblemNaming({ JWT_ALGORITHM: 'HS512' }, 'JWT_ALGORITHM').join(),
      /must be one of HS256, ES256, RS256, PS256/,
    );
  });
});

describe('JWKS with the default HS256', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('publishes no access-token key (the HMAC secret is never exposed), only the ID-token key', async () => {
    const { keys } = await fetchJwks(t);
    // The OpenID Provider's ID-token key (an HMAC secret can't sign for the public).
    assert.equal(keys.length, 1);
    assert.deepEqual(
      { kty: keys[0]?.kty, alg: keys[0]?.alg, use: keys[0]?.use, k: keys[0]?.k, d: keys[0]?.d },
      { kty: 'EC', alg: 'ES256', use: 'sig', k: undefined, d: undefined },
    );
  });
});
