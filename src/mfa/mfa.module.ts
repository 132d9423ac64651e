import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { MfaChallenges } from './challenges/mfa-challenges';
import { MfaChallengesRepository } from './challenges/mfa-challenges.repository';
import { Reauthentication } from './reauthentication';
import { SecondFactors } from './second-factors';
import { SecondFactorsRepository } from './second-factors.repository';
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
  imports: [UsersModule],
  providers: [
    MfaSecretBox,
    TotpRepository,
    TotpFactors,
    RecoveryCodesRepository,
    RecoveryCodes,
    SecondFactorsRepository,
    SecondFactors,
    MfaChallengesRepository,
    MfaChallenges,
    Reauthentication,
  ],
  exports: [
    MfaSecretBox,
    TotpFactors,
    RecoveryCodes,
    SecondFactors,
    MfaChallenges,
    Reauthentication,
  ],
})
export class MfaModule {}
