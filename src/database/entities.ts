import { AccountToken } from '../account-lifecycle/account-token.entity';
import { AuditEvent } from '../audit/audit-event.entity';
import { OutboxMail } from '../mail/outbox-mail.entity';
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
];
