import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError } from '../errors/domain-error';
import { wwwAuthenticate } from './problem-details.filter';

describe('WWW-Authenticate of a 401', () => {
  it('names invalid_token (RFC 6750) for a refused token, nothing more otherwise', () => {
    assert.equal(
      wwwAuthenticate(new DomainError('invalid_token', 'x')),
      'Bearer realm="api", error="invalid_token", error_description="The access token is invalid or expired"',
    );
    assert.equal(wwwAuthenticate(new DomainError('missing_token', 'x')), 'Bearer realm="api"');
    assert.equal(wwwAuthenticate(new Error('x')), 'Bearer realm="api"');
  });

  it('challenges a step-up and a re-authentication per RFC 9470, with max_age', () => {
    for (const code of ['mfa_step_up_required', 'reauthentication_required'] as const) {
      assert.equal(
        wwwAuthenticate(
          new DomainError(code, 'Prove "it" \\ again', undefined, { maxAgeSeconds: 300 }),
        ),
        'Bearer realm="api", error="insufficient_user_authentication", ' +
          'error_description="Prove it  again", max_age=300',
      );
    }
    assert.equal(
      wwwAuthenticate(new DomainError('mfa_step_up_required', 'Again')),
      'Bearer realm="api", error="insufficient_user_authentication", error_description="Again"',
    );
  });
});
