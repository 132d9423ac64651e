import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { ValidationFailedError } from '../errors/validation-failed.error';

/**
 * The global pipe: class-validator's rules for every body, query and route parameter, after one
 * rule of our own: no text input holds a NUL character. No name, address, token or filter has a
 * use for one, and PostgreSQL refuses NUL in text, so one in a login name answered 500 with an
 * error log at will (docs/decisions.md, "Bodies, URLs and framework errors").
 */
export class InputValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'custom') refuseNulCharacters(value, metadata.data ?? '');
    return (await super.transform(value, metadata)) as unknown;
  }
}

/**
 * Throws the ValidationPipe's 400 if a string in `value` holds a NUL character. Also for input
 * read before the pipes run (LocalAuthGuard validates the login body itself).
 */
export function refuseNulCharacters(value: unknown, path = ''): void {
  const field = fieldWithNul(value, path);
  if (field === undefined) return;
  throw new ValidationFailedError([
    { field, message: `${field || 'the input'} must not contain a NUL character` },
  ]);
}

/**
 * The path (`a.b`, `list.0`) of the first string in `value` with a NUL character, `path` itself
 * for a string; undefined when there is none. Bodies are depth-limited before parsing.
 */
export function fieldWithNul(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, member] of Object.entries(value)) {
    const found = fieldWithNul(member, path === '' ? key : `${path}.${key}`);
    if (found !== undefined) return found;
  }
  return undefined;
}
