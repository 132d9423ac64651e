import { AccountToken } from '../account-lifecycle/account-token.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { OutboxMail } from '../mail/outbox-mail.entity';
import { MfaChallenge } from '../mfa/entities/mfa-challenge.entity';
import { Passkey } from '../mfa/entities/passkey.entity';
import { RecoveryCode } from '../mfa/entities/recovery-code.entity';
import { TotpFactor } from '../mfa/entities/totp-factor.entity';
import { OidcClient } from '../oidc/entities/oidc-client.entity';
import { OidcModel } from '../oidc/entities/oidc-model.entity';
import { RefreshToken } from '../sessions/refresh-token.entity';
import { Session } from '../sessions/session.entity';
import { Role } from '../users/entities/role.entity';
import { UserRole } from '../users/entities/user-role.entity';
import { User } from '../users/entities/user.entity';

/** Every entity the service maps; the DataSource lists them explicitly (no globs). */
export const ENTITIES = [
  User,
  Role,
  UserRole,
  Session,
  RefreshToken,
  AuditEvent,
  AccountToken,
  OutboxMail,
  TotpFactor,
  RecoveryCode,
  Passkey,
  MfaChallenge,
  OidcClient,
  OidcModel,
];
