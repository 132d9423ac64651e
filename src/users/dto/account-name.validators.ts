import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, Matches, MaxLength } from 'class-validator';
import {
  canonicalEmail,
  canonicalUsername,
  EMAIL_MAX_LENGTH,
  hasInvisibleCharacters,
  USERNAME_PATTERN,
} from '../canonical-identity';

/** A username, canonicalised (NFKC, lower case) before it is checked. */
export const IsCanonicalUsername = (): PropertyDecorator =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? canonicalUsername(value) : value,
    ),
    IsString(),
    Matches(USERNAME_PATTERN, {
      message: '$property must be 3 to 32 characters: letters, digits, dot, underscore or hyphen',
    }),
  );

/** An email address, trimmed, NFKC-normalised and lower-cased before it is checked. */
export const IsCanonicalEmail = (): PropertyDecorator =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' && !hasInvisibleCharacters(value) ? canonicalEmail(value) : value,
    ),
    IsString(),
    MaxLength(EMAIL_MAX_LENGTH),
    IsEmail(
      { allow_utf8_local_part: false },
      { message: '$property must be a valid email address' },
    ),
  );
