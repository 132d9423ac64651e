import type { RoleName } from '../users/entities/role.entity';

/** What the JWT guard puts on the request after checking the token and the user's state. */
export interface AuthenticatedUser {
  id: string;
  username: string;
  /** Roles as they are in the database now, not as the token claims them. */
  roles: RoleName[];
  tokenId: string;
  sessionId: string;
}
