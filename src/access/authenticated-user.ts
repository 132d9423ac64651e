import type { RoleName } from './role-name';
import type { UserWithRoles } from '../users/users.service';

/** What the JWT guard puts on the request after checking the token and the user's state. */
export interface AuthenticatedUser {
  id: string;
  username: string;
  /** Roles as they are in the database now, not as the token claims them. */
  roles: RoleName[];
  tokenId: string;
  sessionId: string;
  /** The user row and roles as loaded for this request (so handlers need not load them again). */
  account: UserWithRoles;
}
