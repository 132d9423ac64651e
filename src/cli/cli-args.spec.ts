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

  it('reads password-reset and email-verified, each with a required --user', () => {
    assert.deepEqual(parseCliArgs(['password-reset', '--user', 'alice']), {
      name: 'password-reset',
      user: 'alice',
    });
    assert.deepEqual(parseCliArgs(['email-verified', '--user=alice@example.com']), {
      name: 'email-verified',
      user: 'alice@example.com',
      verified: true,
    });
    assert.deepEqual(parseCliArgs(['email-verified', '--user', 'alice', '--unverified']), {
      name: 'email-verified',
      user: 'alice',
      verified: false,
    });
    for (const argv of [
      ['password-reset'],
      ['password-reset', '--user', ' '],
      ['password-reset', '--user', 'alice', '--unverified'],
      ['email-verified'],
      ['email-verified', '--user', 'alice', '--file', 'x'],
      ['create-admin', '--username', 'a', '--email', 'a@example.com', '--user', 'b'],
    ]) {
      assert.throws(() => parseCliArgs(argv), UsageError, argv.join(' '));
    }
  });

  it('reads mfa-reset with a required --user, and mfa-rekey with no option', () => {
    assert.deepEqual(parseCliArgs(['mfa-reset', '--user', 'alice']), {
      name: 'mfa-reset',
      user: 'alice',
    });
    assert.deepEqual(parseCliArgs(['mfa-rekey']), { name: 'mfa-rekey' });
    for (const argv of [
      ['mfa-reset'],
      ['mfa-reset', '--user', ''],
      ['mfa-reset', '--user', 'alice', '--unverified'],
      ['mfa-rekey', '--user', 'alice'],
      ['mfa-rekey', 'now'],
    ]) {
      assert.throws(() => parseCliArgs(argv), UsageError, argv.join(' '));
    }
  });

  it('reads audit:verify, with an optional --head as audit:head prints it', () => {
    const hash = 'ab'.repeat(32);
    assert.deepEqual(parseCliArgs(['audit:verify']), { name: 'audit:verify' });
    assert.deepEqual(parseCliArgs(['audit:verify', '--head', `42:${hash}`]), {
      name: 'audit:verify',
      head: { sequence: 42, hash },
    });
    assert.deepEqual(parseCliArgs(['audit:verify', `--head=7:${hash} 2026-01-01T00:00:00.000Z`]), {
      name: 'audit:verify',
      head: { sequence: 7, hash },
    });
    for (const head of [
      '42',
      `0:${hash}`,
      `x:${hash}`,
      `42:${hash.slice(1)}`,
      `42:${hash.toUpperCase()}`,
    ]) {
      assert.throws(() => parseCliArgs(['audit:verify', '--head', head]), UsageError, head);
    }
    assert.throws(() => parseCliArgs(['audit:verify', '--username', 'root']), UsageError);
    assert.throws(() => parseCliArgs(['audit:verify', 'extra']), UsageError);
  });

  it('reads audit:head, migrate and prune, which take no options', () => {
    assert.deepEqual(parseCliArgs(['audit:head']), { name: 'audit:head' });
    assert.deepEqual(parseCliArgs(['migrate']), { name: 'migrate' });
    assert.throws(() => parseCliArgs(['migrate', '--email', 'x']), UsageError);
    assert.deepEqual(parseCliArgs(['prune']), { name: 'prune' });
    assert.throws(() => parseCliArgs(['audit:head', '--head', `1:${'a'.repeat(64)}`]), UsageError);
    assert.throws(() => parseCliArgs(['prune', '--username', 'x']), UsageError);
  });

  it('reads import-users with its file, an optional format and the two switches', () => {
    assert.deepEqual(parseCliArgs(['import-users', '--file', 'users.csv']), {
      name: 'import-users',
      file: 'users.csv',
      dryRun: false,
      skipInvalid: false,
    });
    assert.deepEqual(
      parseCliArgs([
        'import-users',
        '--file=export',
        '--format',
        'json',
        '--dry-run',
        '--skip-invalid',
      ]),
      { name: 'import-users', file: 'export', format: 'json', dryRun: true, skipInvalid: true },
    );
    for (const argv of [
      ['import-users'],
      ['import-users', '--file', 'users.csv', '--format', 'xml'],
      ['import-users', '--file', 'users.csv', '--username', 'root'],
      ['create-admin', '--username', 'root', '--email', 'root@example.com', '--dry-run'],
    ]) {
      assert.throws(() => parseCliArgs(argv), UsageError, argv.join(' '));
    }
  });

  it('reads oidc-clients with one action and the options of that action', () => {
    assert.deepEqual(
      parseCliArgs([
        'oidc-clients',
        'create',
        '--name',
        'Web app',
        '--redirect-uri',
        'https://app.example.com/a',
        '--redirect-uri=https://app.example.com/b',
        '--grant-type',
        'authorization_code',
        '--auth-method',
        'none',
        '--scope',
        'openid email',
        '--first-party',
      ]),
      {
        name: 'oidc-clients',
        action: 'create',
        client: {
          client_name: 'Web app',
          redirect_uris: ['https://app.example.com/a', 'https://app.example.com/b'],
          grant_types: ['authorization_code'],
          token_endpoint_auth_method: 'none',
          scope: 'openid email',
          first_party: true,
        },
      },
    );
    assert.deepEqual(parseCliArgs(['oidc-clients', 'create', '--name', 'Service']), {
      name: 'oidc-clients',
      action: 'create',
      client: { client_name: 'Service' },
    });
    assert.deepEqual(parseCliArgs(['oidc-clients', 'list']), {
      name: 'oidc-clients',
      action: 'list',
    });
    for (const action of ['show', 'rotate-secret', 'delete'] as const) {
      assert.deepEqual(parseCliArgs(['oidc-clients', action, '--id', 'abc']), {
        name: 'oidc-clients',
        action,
        id: 'abc',
      });
    }
    for (const argv of [
      ['oidc-clients'],
      ['oidc-clients', 'rename'],
      ['oidc-clients', 'create'],
      ['oidc-clients', 'create', '--name', 'x', '--id', 'abc'],
      ['oidc-clients', 'list', '--name', 'x'],
      ['oidc-clients', 'show'],
      ['oidc-clients', 'delete', '--id', ' '],
      ['oidc-clients', 'delete', '--id', 'abc', 'def'],
      ['create-admin', '--username', 'a', '--email', 'a@example.com', '--name', 'b'],
    ]) {
      assert.throws(() => parseCliArgs(argv), UsageError, argv.join(' '));
    }
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
