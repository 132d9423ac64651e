import { MetricsEndpointModule, MetricsModule } from './metrics/metrics.module';
import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { AbuseModule } from './abuse/abuse.module';
import { RateLimitGuard } from './abuse/rate-limit.guard';
import { AccountPagesModule } from './account-pages/account-pages.module';
import { AuditJobsModule } from './audit/audit-jobs.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { JwtAuthGuard } from './auth/guards/jwt-auth.guard';
import { RolesGuard } from './auth/guards/roles.guard';
import { CommonModule } from './common/common.module';
import { ValidationFailedError } from './common/errors/validation-failed.error';
import { ProblemDetailsFilter } from './common/http/problem-details.filter';
import { AppConfigModule } from './config/config.module';
import { ContentModule } from './content/content.module';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MailModule } from './mail/mail.module';
import { MfaModule } from './mfa/mfa.module';
import { OidcModule } from './oidc/oidc.module';
import { RetentionModule } from './retention/retention.module';
import { UsersModule } from './users/users.module';
import { InputValidationPipe } from './common/validation/input-validation.pipe';

@Module({
  imports: [
    AppConfigModule,
    CommonModule,
    DatabaseModule.forRoot(),
    MailModule,
    UsersModule,
    AuthModule,
    MfaModule,
    OidcModule,
    AccountPagesModule,
    ContentModule,
    HealthModule,
    AuditModule,
    AbuseModule,
    AuditJobsModule,
    RetentionModule,
    MetricsModule,
    MetricsEndpointModule,
  ],
  providers: [
    {
      provide: APP_PIPE,
      useFactory: () =>
        new InputValidationPipe({
          whitelist: true,
          forbidNonWhitelisted: true,
          forbidUnknownValues: true,
          transform: true,
          exceptionFactory: (errors) => ValidationFailedError.fromValidationErrors(errors),
        }),
    },
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    // Order matters: count abuse-prone requests first, then authenticate, then check roles.
    { provide: APP_GUARD, useClass: RateLimitGuard },
    { provide: APP_GUARD, useClass: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RolesGuard },
  ],
})
export class AppModule {}
