import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

class FieldErrorDto {
  @ApiProperty({ example: 'password' })
  field: string;

  @ApiProperty({ example: 'password must be at least 8 characters long' })
  message: string;
}

/** RFC 9457 problem details, as every error response of the API (application/problem+json). */
export class ProblemDto {
  @ApiProperty({ example: 'urn:problem:identity:username-taken' })
  type: string;

  @ApiProperty({ example: 'Username already taken' })
  title: string;

  @ApiProperty({ example: 409 })
  status: number;

  @ApiPropertyOptional({ example: 'This username is already taken' })
  detail?: string;

  @ApiPropertyOptional({ example: '/api/v1/auth/register' })
  instance?: string;

  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'One entry per invalid field' })
  errors?: FieldErrorDto[];
}
