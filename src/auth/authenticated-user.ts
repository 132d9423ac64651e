import type { RoleName } from '../users/entities/role.entity';

/** What the JWT guard puts on the request after checking the token and the user's state. */
export interface AuthenticatedUser {
  id: string;
  username: string;
  roles: RoleName[];
  tokenId: string;
}
