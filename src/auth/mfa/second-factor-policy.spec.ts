import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RoleName } from '../../access/role-name';
import { secondFactorWithin } from '../../access/sign-in-proof';
import { isAdminOnly, mustEnrolSecondFactor } from './second-factor-policy';

describe('second-factor policy', () => {
  const admins = { enabled: true, requiredForRoles: [RoleName.Admin] };

  it('makes a user of a required role without a proven factor enrol first', () => {
    assert.equal(mustEnrolSecondFactor(admins, [RoleName.User, RoleName.Admin], null), true);
    assert.equal(mustEnrolSecondFactor(admins, [RoleName.Admin], new Date(0)), false);
    assert.equal(mustEnrolSecondFactor(admins, [RoleName.Moderator], null), false);
    assert.equal(
      mustEnrolSecondFactor({ ...admins, enabled: false }, [RoleName.Admin], null),
      false,
    );
    assert.equal(
      mustEnrolSecondFactor({ enabled: true, requiredForRoles: [] }, [RoleName.Admin], null),
      false,
    );
    // Higher roles imply lower ones: an admin holds ROLE_MODERATOR too.
    const moderators = { enabled: true, requiredForRoles: [RoleName.Moderator] };
    assert.equal(mustEnrolSecondFactor(moderators, [RoleName.Admin], null), true);
  });

  it('counts a second factor as recent up to and including max age', () => {
    const now = new Date(1_000_000);
    assert.equal(secondFactorWithin(new Date(1_000_000 - 300_000), now, 300), true);
    assert.equal(secondFactorWithin(new Date(1_000_000 - 300_001), now, 300), false);
    assert.equal(secondFactorWithin(null, now, 300), false);
  });

  it('calls a route ADMIN-only when no lower role passes', () => {
    assert.equal(isAdminOnly([RoleName.Admin]), true);
    assert.equal(isAdminOnly([RoleName.Admin, RoleName.Moderator]), false);
    assert.equal(isAdminOnly([]), false);
  });
});
