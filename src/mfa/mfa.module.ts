import { Module } from '@nestjs/common';
import { AbuseModule } from '../abuse/abuse.module';
import { AuditModule } from '../audit/audit.module';
import { SessionsModule } from '../sessions/sessions.module';
import { UsersModule } from '../users/users.module';
import { MfaChallenges } from './challenges/mfa-challenges';
import { MfaChallengesRepository } from './challenges/mfa-challenges.repository';
import { SecondFactorNotices } from './mails/second-factor-notices';
import { MfaAdminController } from './mfa-admin.controller';
import { MfaEnrolmentController } from './mfa-enrolment.controller';
import { MfaEnrolmentService } from './mfa-enrolment.service';
import { MfaRekeyService } from './mfa-rekey.service';
import { MfaResetRepository } from './mfa-reset.repository';
import { MfaResetService } from './mfa-reset.service';
import { Reauthentication } from './reauthentication';
import { SecondFactors } from './second-factors';
import { SecondFactorsRepository } from './second-factors.repository';
import { MfaSecretBox } from './mfa-secret-box';
import { PasskeyAuthentication } from './passkeys/passkey-authentication';
import { PasskeyOptionsController } from './passkeys/passkey-options.controller';
import { Passkeys } from './passkeys/passkeys';
import { PasskeysController } from './passkeys/passkeys.controller';
import { PasskeysRepository } from './passkeys/passkeys.repository';
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
  imports: [UsersModule, SessionsModule, AuditModule, AbuseModule],
  controllers: [
    PasskeysController,
    PasskeyOptionsController,
    MfaEnrolmentController,
    MfaAdminController,
  ],
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
    PasskeysRepository,
    Passkeys,
    PasskeyAuthentication,
    SecondFactorNotices,
    MfaEnrolmentService,
    MfaResetRepository,
    MfaResetService,
    MfaRekeyService,
  ],
  exports: [
    MfaSecretBox,
    TotpFactors,
    RecoveryCodes,
    SecondFactors,
    MfaChallenges,
    Reauthentication,
    PasskeyAuthentication,
    MfaResetService,
    MfaRekeyService,
  ],
})
export class MfaModule {}
