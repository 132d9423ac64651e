import * as argon2 from 'argon2';
import bcrypt from 'bcryptjs';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadAppConfig } from '../config/app-config';
import { bcryptHashProblem } from './legacy-bcrypt';
import { PasswordHasher } from './password-hasher.service';

const PASSWORD = 'plum-tree-harbor-47';

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher(
    loadAppConfig({ NODE_ENV: 'test', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' }),
  );
  before(() => hasher.onModuleInit());

  it('verifies passlib ($2b$), $2a$ and $2y$ bcrypt hashes and asks for a rehash', async () => {
    const passlib = bcrypt.hashSync(PASSWORD, 4);
    assert.match(passlib, /^\$2b\$04\$/);
    for (const hash of [
      passlib,
      passlib.replace('$2b$', '$2a$'),
      passlib.replace('$2b$', '$2y$'),
    ]) {
      assert.equal(await hasher.verify(hash, PASSWORD), true, hash.slice(0, 4));
      assert.equal(await hasher.verify(hash, 'not-the-password'), false);
      assert.equal(hasher.needsRehash(hash), true);
    }
  });

  it('checks the password as typed against bcrypt, as passlib hashed it (no NFKC)', async () => {
    const typed = 'ﬁsh-and-chips-42';
    const hash = bcrypt.hashSync(typed, 4);
    assert.equal(await hasher.verify(hash, typed), true);
    assert.equal(await hasher.verify(hash, typed.normalize('NFKC')), false);
  });

  it('fails, never throws, on a bcrypt hash it does not take (cost out of range, $2x$, cut short)', async () => {
    const hash = bcrypt.hashSync(PASSWORD, 4);
    for (const refused of [
      hash.replace('$04$', '$15$'),
      hash.replace('$2b$', '$2x$'),
      hash.slice(0, -1),
    ]) {
      assert.equal(await hasher.verify(refused, PASSWORD), false);
      assert.notEqual(bcryptHashProblem(refused), undefined);
    }
  });

  it('keeps a current argon2id hash and upgrades other argon2 kinds or parameters', async () => {
    const current = await hasher.hash(PASSWORD);
    assert.match(current, /^\$argon2id\$/);
    assert.equal(await hasher.verify(current, PASSWORD), true);
    assert.equal(hasher.needsRehash(current), false);
    const argon2i = await argon2.hash(PASSWORD, {
      type: argon2.argon2i,
      memoryCost: 1024,
      timeCost: 1,
      parallelism: 1,
    });
    assert.equal(hasher.needsRehash(argon2i), true);
  });

  it('names why a hash cannot be imported', () => {
    assert.equal(bcryptHashProblem(bcrypt.hashSync(PASSWORD, 4)), undefined);
    assert.match(bcryptHashProblem('$argon2id$v=19$m=1024,t=1,p=1$abc$def') ?? '', /argon2/);
    assert.match(bcryptHashProblem('5f4dcc3b5aa765d61d8327deb882cf99') ?? '', /not a bcrypt hash/);
    assert.match(
      bcryptHashProblem(bcrypt.hashSync(PASSWORD, 4).replace('$04$', '$31$')) ?? '',
      /cost 31, outside 4 to 14/,
    );
  });
});
