import { ApiProperty } from '@nestjs/swagger';
import { RoleName } from '../../access/role-name';
import type { UserWithRoles } from '../users.service';

/** What the API says about a user. Never the password hash: entities are not serialised. */
export class UserResponseDto {
  @ApiProperty({ format: 'uuid', example: '6f1d3c2e-8a4b-4f7e-9c1d-2b3a4c5d6e7f' })
  id: string;

  @ApiProperty({ example: 'alice' })
  username: string;

  @ApiProperty({ example: 'alice@example.com' })
  email: string;

  @ApiProperty({
    example: true,
    description: 'Whether the user proved the email is theirs (a link mailed to it, SPEC §8)',
  })
  emailVerified: boolean;

  @ApiProperty({ example: true })
  isActive: boolean;

  @ApiProperty({ enum: RoleName, isArray: true, example: [RoleName.User] })
  roles: RoleName[];

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

/** The signed-in user's own view (GET /users/me): the account and its second factors. */
export class SelfResponseDto extends UserResponseDto {
  @ApiProperty({
    enum: ['totp', 'passkey'],
    isArray: true,
    example: ['totp'],
    description:
      'The enrolled second factors (SPEC §9; details at GET /users/me/mfa); empty: the password alone signs in',
  })
  mfaMethods: string[];
}

/**
 * Answers made for frozen accounts, by account. The auth-state cache hands the same frozen
 * account to every request of a session (auth-state.reader.ts), so `GET /users/me` formats it
 * once instead of on every request: its two ISO dates cost more than the rest of the handler.
 * Weak, so an answer goes with its account.
 */
const answers = new WeakMap<UserWithRoles, UserResponseDto>();

export function toUserResponse(account: UserWithRoles): UserResponseDto {
  if (!Object.isFrozen(account)) return userResponse(account);
  let answer = answers.get(account);
  if (answer === undefined) {
    answer = userResponse(account);
    Object.freeze(answer.roles);
    answers.set(account, Object.freeze(answer));
  }
  return answer;
}

function userResponse({ user, roles }: UserWithRoles): UserResponseDto {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    emailVerified: user.emailVerifiedAt !== null,
    isActive: user.isActive,
    roles: [...roles].sort(),
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
