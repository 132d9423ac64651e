import { registerDecorator, ValidationArguments, ValidationOptions } from 'class-validator';
import {
  PASSWORD_MAX_LENGTH,
  passwordPolicyViolations,
  withinMaximumLength,
} from './password-policy';

/**
 * A new password that satisfies the policy; compared against the `username` and `email`
 * properties of the same object (already canonical when transforms ran).
 */
export function IsAcceptablePassword(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    let violations: string[] = [];
    registerDecorator({
      name: 'isAcceptablePassword',
      target: target.constructor,
      propertyName: propertyName.toString(),
      options,
      validator: {
        validate(value: unknown, args: ValidationArguments): boolean {
          if (typeof value !== 'string') {
            violations = ['must be a string'];
            return false;
          }
          const account = args.object as { username?: unknown; email?: unknown };
          violations = passwordPolicyViolations(value, {
            username: typeof account.username === 'string' ? account.username : undefined,
            email: typeof account.email === 'string' ? account.email : undefined,
          });
          return violations.length === 0;
        },
        defaultMessage(args: ValidationArguments): string {
          return `${args.property} ${violations.join('; ')}`;
        },
      },
    });
  };
}

/** A password as typed at login: a string of at most the policy's maximum length once normalised. */
export function IsPasswordCandidate(options?: ValidationOptions): PropertyDecorator {
  return (target: object, propertyName: string | symbol) => {
    registerDecorator({
      name: 'isPasswordCandidate',
      target: target.constructor,
      propertyName: propertyName.toString(),
      options: {
        message: `$property must be a string of 1 to ${PASSWORD_MAX_LENGTH} characters`,
        ...options,
      },
      validator: {
        validate(value: unknown): boolean {
          return typeof value === 'string' && value.length > 0 && withinMaximumLength(value);
        },
      },
    });
  };
}
