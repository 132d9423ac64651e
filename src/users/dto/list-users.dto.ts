import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsEnum, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PaginationQueryDto } from '../../common/http/pagination.dto';
import { RoleName } from '../../access/role-name';
import { UserResponseDto } from './user-response.dto';

export const USER_SORTS = [
  'createdAt',
  '-createdAt',
  'username',
  '-username',
  'email',
  '-email',
] as const;
export type UserSort = (typeof USER_SORTS)[number];

export class ListUsersQueryDto extends PaginationQueryDto {
  @ApiPropertyOptional({
    enum: USER_SORTS,
    default: 'createdAt',
    description: 'Sort field; a leading "-" sorts descending. Ties are broken by id.',
  })
  @IsOptional()
  @IsIn(USER_SORTS)
  sort: UserSort = 'createdAt';

  @ApiPropertyOptional({
    description: 'Case-insensitive substring of the username or email',
    example: 'ali',
  })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  q?: string;

  @ApiPropertyOptional({ enum: RoleName, description: 'Only users granted this role' })
  @IsOptional()
  @IsEnum(RoleName)
  role?: RoleName;

  @ApiPropertyOptional({
    type: Boolean,
    description: 'Only active (true) or inactive (false) users',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  isActive?: boolean;
}

export class UserListDto {
  @ApiProperty({ type: [UserResponseDto] })
  items: UserResponseDto[];

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    example: 42,
    description: 'Users matching the filters, over all pages',
  })
  total: number;

  @ApiProperty({ type: 'integer', minimum: 1, example: 1 })
  page: number;

  @ApiProperty({ type: 'integer', minimum: 1, maximum: 100, example: 20 })
  limit: number;
}
