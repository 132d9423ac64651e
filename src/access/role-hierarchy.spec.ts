import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoleName } from './role-name';
import { effectiveRoles, satisfiesRoles } from './role-hierarchy';

describe('role hierarchy', () => {
  it('ADMIN implies MODERATOR and USER', () => {
    assert.deepEqual(
      [...effectiveRoles([RoleName.Admin])].sort(),
      [RoleName.Admin, RoleName.Moderator, RoleName.User].sort(),
    );
  });

  it('MODERATOR implies USER but not ADMIN', () => {
    assert.equal(satisfiesRoles([RoleName.Moderator], [RoleName.User]), true);
    assert.equal(satisfiesRoles([RoleName.Moderator], [RoleName.Moderator]), true);
    assert.equal(satisfiesRoles([RoleName.Moderator], [RoleName.Admin]), false);
  });

  it('USER satisfies only USER', () => {
    assert.equal(satisfiesRoles([RoleName.User], [RoleName.User]), true);
    assert.equal(satisfiesRoles([RoleName.User], [RoleName.Moderator]), false);
    assert.equal(satisfiesRoles([RoleName.User], [RoleName.Admin]), false);
  });

  it('no roles satisfy nothing, unknown role names imply nothing', () => {
    assert.equal(satisfiesRoles([], [RoleName.User]), false);
    assert.equal(satisfiesRoles(['ROLE_SUPERUSER', 'role_admin'], [RoleName.User]), false);
  });

  it('any one of several required roles is enough', () => {
    assert.equal(satisfiesRoles([RoleName.Moderator], [RoleName.Admin, RoleName.Moderator]), true);
  });

  it('no required roles means any authenticated user', () => {
    assert.equal(satisfiesRoles([], []), true);
  });
});
