import type { ValidationError } from 'class-validator';
import type { FieldError } from './domain-error';

/** Thrown by the global ValidationPipe; rendered as a 400 problem with `errors[]`. */
export class ValidationFailedError extends Error {
  constructor(readonly errors: FieldError[]) {
    super('The request is invalid');
    this.name = 'ValidationFailedError';
  }

  static fromValidationErrors(errors: ValidationError[]): ValidationFailedError {
    return new ValidationFailedError(flatten(errors, ''));
  }
}

function flatten(errors: ValidationError[], prefix: string): FieldError[] {
  return errors.flatMap((error) => {
    const field = prefix === '' ? error.property : `${prefix}.${error.property}`;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}
