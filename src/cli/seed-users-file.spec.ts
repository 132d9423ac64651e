import bcrypt from 'bcryptjs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from './cli-error';
import { checkSeedRecords } from './seed-user-rows';
import { formatOfFileName, parseCsv, readSeedRecords } from './seed-users-file';

const HASH = bcrypt.hashSync('plum-tree-harbor-47', 4);

describe('import files', () => {
  it('parses RFC 4180 CSV: quotes, doubled quotes, commas and line breaks in quotes, CRLF', () => {
    assert.deepEqual(parseCsv('a,b\r\n"x, y","say ""hi"""\n"two\nlines",\n'), [
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'say "hi"'] },
      { line: 3, fields: ['two\nlines', ''] },
    ]);
    assert.deepEqual(parseCsv('a\nb'), [
      { line: 1, fields: ['a'] },
      { line: 2, fields: ['b'] },
    ]);
    assert.throws(() => parseCsv('a\n"open'), CliError);
  });

  it('reads CSV records by lower-cased header, skipping blank lines, with their line numbers', () => {
    const records = readSeedRecords(
      `\uFEFFid,Username,email\n1,alice,a@example.com\n\n2,bob\n`,
      'csv',
    );
    assert.deepEqual(records, [
      { where: 'line 2', fields: { id: '1', username: 'alice', email: 'a@example.com' } },
      { where: 'line 4', fields: undefined, problem: 'has 2 fields, the header has 3' },
    ]);
  });

  it('reads a JSON array of objects and refuses anything else', () => {
    assert.deepEqual(readSeedRecords('[{"Username":"alice"},3]', 'json'), [
      { where: 'row 1', fields: { username: 'alice' } },
      { where: 'row 2', fields: undefined },
    ]);
    assert.throws(() => readSeedRecords('{"users":[]}', 'json'), CliError);
    assert.throws(() => readSeedRecords('[{', 'json'), CliError);
    assert.equal(formatOfFileName('Users.CSV'), 'csv');
    assert.equal(formatOfFileName('users.json'), 'json');
    assert.equal(formatOfFileName('users.txt'), undefined);
  });
});

describe('import rules', () => {
  const record = (where: string, fields: Record<string, unknown>) => ({ where, fields });

  it('canonicalises names and reads the active flag from is_active or disabled in every spelling', async () => {
    const { valid, invalid } = await checkSeedRecords([
      record('row 1', { username: 'Alice', email: ' Alice@Example.COM', hashed_password: HASH }),
      record('row 2', {
        username: 'bob',
        email: 'b@example.com',
        password_hash: HASH,
        disabled: 1,
      }),
      record('row 3', {
        username: 'carol',
        email: 'c@example.com',
        hashed_password: HASH,
        disabled: 'f',
      }),
      record('row 4', {
        username: 'dave',
        email: 'd@example.com',
        hashed_password: HASH,
        is_active: false,
      }),
      record('row 5', {
        username: 'erin',
        email: 'e@example.com',
        hashed_password: HASH,
        disabled: null,
      }),
    ]);
    assert.deepEqual(invalid, []);
    assert.deepEqual(
      valid.map((row) => [row.account.username, row.account.email, row.account.isActive]),
      [
        ['alice', 'alice@example.com', true],
        ['bob', 'b@example.com', false],
        ['carol', 'c@example.com', true],
        ['dave', 'd@example.com', false],
        ['erin', 'e@example.com', true],
      ],
    );
    assert.equal(valid[0]?.account.passwordHash, HASH);
  });

  it('names every problem of a record and never echoes its hash', async () => {
    const { valid, invalid } = await checkSeedRecords([
      record('row 1', { username: 'a b', email: 'not-an-email', hashed_password: 'md5:abc' }),
      record('row 2', { username: 'frank', hashed_password: HASH, disabled: 'maybe' }),
      record('row 3', {
        username: 'gina',
        email: 'g@example.com',
        hashed_password: '$argon2id$v=19$x',
      }),
      record('row 4', {
        username: 'hank',
        email: 'h@example.com',
        hashed_password: HASH,
        is_active: true,
        disabled: true,
      }),
      { where: 'row 5', fields: undefined },
    ]);
    assert.deepEqual(valid, []);
    assert.deepEqual(
      invalid.map((row) => row.where),
      ['row 1', 'row 2', 'row 3', 'row 4', 'row 5'],
    );
    const [names, missing, argon, contradiction, notObject] = invalid.map((row) => row.problem);
    assert.match(names ?? '', /username must be 3 to 32 characters/);
    assert.match(names ?? '', /email must be a valid email address/);
    assert.match(names ?? '', /hashed_password is not a bcrypt hash/);
    assert.match(missing ?? '', /email is missing/);
    assert.match(missing ?? '', /disabled must be true or false/);
    assert.match(argon ?? '', /an argon2 hash: only bcrypt hashes/);
    assert.match(contradiction ?? '', /contradict/);
    assert.equal(notObject, 'is not an object');
    assert.ok(!invalid.some((row) => row.problem.includes(HASH)));
  });

  it('refuses every record of a username or email given twice, in any case', async () => {
    const { valid, invalid } = await checkSeedRecords([
      record('line 2', { username: 'ivy', email: 'ivy@example.com', hashed_password: HASH }),
      record('line 3', { username: 'IVY', email: 'other@example.com', hashed_password: HASH }),
      record('line 4', { username: 'jack', email: 'jack@example.com', hashed_password: HASH }),
    ]);
    assert.deepEqual(
      valid.map((row) => row.where),
      ['line 4'],
    );
    assert.deepEqual(invalid, [
      { where: 'line 2', problem: 'username "ivy" is also on line 3' },
      { where: 'line 3', problem: 'username "ivy" is also on line 2' },
    ]);
  });
});
