import type { MigrationInterface } from 'typeorm';
import { CreateUsersAndRoles1764000000000 } from './1764000000000-CreateUsersAndRoles';
import { SeedRoles1764000000001 } from './1764000000001-SeedRoles';
import { CreateSessions1764000000002 } from './1764000000002-CreateSessions';
import { CreateAuditEvents1764000000003 } from './1764000000003-CreateAuditEvents';
import { AddUserListIndexes1764000000004 } from './1764000000004-AddUserListIndexes';
import { AddAccountLockout1764000000005 } from './1764000000005-AddAccountLockout';
import { AddAuthStateSignals1764000000006 } from './1764000000006-AddAuthStateSignals';
import { AddAuditChainHead1764000000007 } from './1764000000007-AddAuditChainHead';
import { AddAuthStateIdleAndTruncateSignals1764000000009 } from './1764000000009-AddAuthStateIdleAndTruncateSignals';

import { AddAuditKeysAndCheckpoints1764000000010 } from './1764000000010-AddAuditKeysAndCheckpoints';
import { AddEmailLifecycle1764000000011 } from './1764000000011-AddEmailLifecycle';
import { AddSecondFactors1764000000012 } from './1764000000012-AddSecondFactors';
import { AddOidcProvider1764000000013 } from './1764000000013-AddOidcProvider';
import { AddSecondFactorSignals1764000000014 } from './1764000000014-AddSecondFactorSignals';

/**
 * Every migration, oldest first. A migration is never edited once it has landed: add a new one
 * and list it here (`npm run migration:generate -- <Name>` writes the file and lists it here).
 */
export const MIGRATIONS: Array<new () => MigrationInterface> = [
  CreateUsersAndRoles1764000000000,
  SeedRoles1764000000001,
  CreateSessions1764000000002,
  CreateAuditEvents1764000000003,
  AddUserListIndexes1764000000004,
  AddAccountLockout1764000000005,
  AddAuthStateSignals1764000000006,
  AddAuditChainHead1764000000007,
  AddAuthStateIdleAndTruncateSignals1764000000009,

  AddAuditKeysAndCheckpoints1764000000010,
  AddEmailLifecycle1764000000011,
  AddSecondFactors1764000000012,
  AddOidcProvider1764000000013,
  AddSecondFactorSignals1764000000014,
];
