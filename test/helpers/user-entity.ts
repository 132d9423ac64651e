import { randomUUID } from 'node:crypto';
import { User } from '../../src/users/entities/user.entity';

/** A User as a repository would hand it back, for unit tests with in-memory repositories. */
export function userEntity(
  username: string,
  overrides: Partial<Pick<User, 'id' | 'email' | 'isActive' | 'createdAt'>> = {},
): User {
  const createdAt = overrides.createdAt ?? new Date();
  return Object.assign(new User(), {
    id: overrides.id ?? randomUUID(),
    username,
    email: overrides.email ?? `${username}@example.com`,
    isActive: overrides.isActive ?? true,
    emailVerifiedAt: null,
    passwordChangedAt: null,
    createdAt,
    updatedAt: createdAt,
  });
}
