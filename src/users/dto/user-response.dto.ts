import { ApiProperty } from '@nestjs/swagger';
import { RoleName } from '../entities/role.entity';
import type { UserWithRoles } from '../users.service';

/** What the API says about a user. Never the password hash: entities are not serialised. */
export class UserResponseDto {
  @ApiProperty({ format: 'uuid', example: '6f1d3c2e-8a4b-4f7e-9c1d-2b3a4c5d6e7f' })
  id: string;

  @ApiProperty({ example: 'alice' })
  username: string;

  @ApiProperty({ example: 'alice@example.com' })
  email: string;

  @ApiProperty({ example: true })
  isActive: boolean;

  @ApiProperty({ enum: RoleName, isArray: true, example: [RoleName.User] })
  roles: RoleName[];

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt: string;
}

export function toUserResponse({ user, roles }: UserWithRoles): UserResponseDto {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    isActive: user.isActive,
    roles: [...roles].sort(),
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}
