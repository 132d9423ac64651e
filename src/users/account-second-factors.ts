import { Injectable } from '@nestjs/common';

/** Reads the kinds of second factor an account has enrolled ('totp', 'passkey'). */
export type SecondFactorMethodsReader = (userId: string) => Promise<string[]>;

/**
 * What the account views (GET /users/me) show of its second factors. mfa/ owns those tables
 * and provides the reader here, so users/ depends on none of it (like AccountEvents); without
 * a reader (MFA_ENABLED=false, or an app without the MFA module) an account has none.
 */
@Injectable()
export class AccountSecondFactors {
  private reader: SecondFactorMethodsReader | null = null;

  provide(reader: SecondFactorMethodsReader): void {
    this.reader = reader;
  }

  methodsOf(userId: string): Promise<string[]> {
    return this.reader === null ? Promise.resolve([]) : this.reader(userId);
  }
}
