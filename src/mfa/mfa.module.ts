import { Module } from '@nestjs/common';
import { MfaSecretBox } from './mfa-secret-box';
import { RecoveryCodes } from './recovery-codes/recovery-codes';
import { RecoveryCodesRepository } from './recovery-codes/recovery-codes.repository';
import { TotpFactors } from './totp/totp-factors';
import { TotpRepository } from './totp/totp.repository';

/**
 * Second factors (SPEC §9): a user's TOTP authenticator, recovery codes and passkeys, and the
 * routes that enrol and manage them. Login with a second factor and step-up live in the
 * AuthModule, which uses the factors exported here.
 */
@Module({
  providers: [MfaSecretBox, TotpRepository, TotpFactors, RecoveryCodesRepository, RecoveryCodes],
  exports: [MfaSecretBox, TotpFactors, RecoveryCodes],
})
export class MfaModule {}
