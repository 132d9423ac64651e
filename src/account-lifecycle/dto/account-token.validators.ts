import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { ACCOUNT_TOKEN_PATTERN } from '../account-tokens.service';

/** The token of a mailed link: 43 base64url characters (32 random bytes), as the mail shows it. */
export const IsAccountToken = (description: string): PropertyDecorator =>
  applyDecorators(
    ApiProperty({
      description,
      example: 'Zk3vQ9a1N0tY2wS8rB7cL4dE6fG5hJ0kM1nP2qR3sT4',
      minLength: 43,
      maxLength: 43,
      pattern: ACCOUNT_TOKEN_PATTERN.source,
    }),
    IsString(),
    Matches(ACCOUNT_TOKEN_PATTERN, {
      message: '$property must be the 43-character code from the mail',
    }),
  );
