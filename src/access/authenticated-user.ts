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
  /** The token's `amr`: how the user authenticated in this session (`pwd`, `otp`, `hwk`, `swk`). */
  amr: string[];
  /** When the session last proved a second factor (the token's `mfa_time`), or null. */
  mfaAt: Date | null;
  /** The user row and roles as loaded for this request (so handlers need not load them again). */
  account: UserWithRoles;
  /** The second factors the account has enrolled (`totp`, `passkey`), loaded with it. */
  secondFactors: readonly string[];
}
