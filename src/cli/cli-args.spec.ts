import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCliArgs } from './cli-args';
import { UsageError } from './cli-error';

describe('parseCliArgs', () => {
  it('reads create-admin options given as "--name value" or "--name=value"', () => {
    const expected = { name: 'create-admin', username: 'root', email: 'root@example.com' };
    assert.deepEqual(
      parseCliArgs(['create-admin', '--username', 'root', '--email', 'root@example.com']),
      expected,
    );
    assert.deepEqual(
      parseCliArgs(['create-admin', '--email=root@example.com', '--username=root']),
      expected,
    );
  });

  it('reads audit:verify, which takes no options', () => {
    assert.deepEqual(parseCliArgs(['audit:verify']), { name: 'audit:verify' });
    assert.throws(() => parseCliArgs(['audit:verify', '--username', 'root']), UsageError);
    assert.throws(() => parseCliArgs(['audit:verify', 'extra']), UsageError);
  });

  it('asks for help with no arguments, --help or -h', () => {
    for (const argv of [[], ['--help'], ['-h'], ['create-admin', '--help']]) {
      assert.deepEqual(parseCliArgs(argv), { name: 'help' }, argv.join(' '));
    }
  });

  it('refuses unknown commands and options, missing options and missing values', () => {
    for (const argv of [
      ['make-coffee'],
      ['create-admin', '--username', 'root'],
      ['create-admin', '--email', 'root@example.com'],
      ['create-admin', '--username', '--email', 'root@example.com'],
      ['create-admin', '--username', 'root', '--email', 'root@example.com', '--role', 'x'],
      ['create-admin', 'extra', '--username', 'root', '--email', 'root@example.com'],
    ]) {
      assert.throws(() => parseCliArgs(argv), UsageError, argv.join(' '));
    }
  });
});
