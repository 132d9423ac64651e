import { Body, Controller, Get, Header, Post, Query, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { RateLimit } from '../abuse/rate-limit.decorator';
import { Public } from '../access/public.decorator';
import { EmailChangeService } from '../account-lifecycle/email-change.service';
import { EmailVerificationService } from '../account-lifecycle/email-verification.service';
import { PasswordResetService } from '../account-lifecycle/password-reset.service';
import { DomainError } from '../common/errors/domain-error';
import { CurrentRequest, type RequestContext } from '../common/request-context';
import { AppConfig } from '../config/app-config';
import { AccountPageFilter } from './account-page.filter';
import {
  type AccountFlow,
  confirmEmailChangeDone,
  confirmEmailChangeForm,
  invalidLinkPage,
  type Page,
  resetPasswordDone,
  resetPasswordForm,
  STYLESHEET,
  verifyEmailDone,
  verifyEmailForm,
} from './account-pages.html';
import { sendPage } from './send-page';

/** A form field or query parameter as one string ('' when absent, repeated or not text). */
function textOf(source: unknown, name: string): string {
  const value = (source as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/** "newPassword must be ..." (the API's field message) as a sentence of the page. */
function sentence(message: string): string {
  const text = message.replace(/^newPassword\b/, 'The password');
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The pages the links of account mails open (SPEC §8), at `${PUBLIC_URL}/account/...`, outside
 * the API's prefix and its OpenAPI document. A GET only shows a form holding the token (mail
 * scanners and link previews open links); its POST spends it through the same service as the
 * JSON API. Errors are pages too (AccountPageFilter). docs/decisions.md, "Account pages for
 * mailed links".
 */
@Controller('account')
@ApiExcludeController()
@Public()
@UseFilters(AccountPageFilter)
export class AccountPagesController {
  constructor(
    private readonly config: AppConfig,
    private readonly emailVerification: EmailVerificationService,
    private readonly passwordReset: PasswordResetService,
    private readonly emailChange: EmailChangeService,
  ) {}

  @Get('style.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=3600')
  stylesheet(): string {
    return STYLESHEET;
  }

  @Get('verify-email')
  showVerifyEmail(@Query() query: unknown, @Res() reply: FastifyReply): void {
    this.ensureOn(this.config.accountLifecycle.emailVerification !== 'off');
    this.show(reply, 'verify-email', textOf(query, 'token'), verifyEmailForm);
  }

  @Post('verify-email')
  @RateLimit({ perAccount: false })
  async verifyEmail(
    @Body() body: unknown,
    @CurrentRequest() context: RequestContext,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.emailVerification.verify(textOf(body, 'token'), context);
    sendPage(reply, verifyEmailDone(this.config));
  }

  @Get('reset-password')
  showResetPassword(@Query() query: unknown, @Res() reply: FastifyReply): void {
    this.ensureOn(this.config.accountLifecycle.passwordReset);
    this.show(reply, 'reset-password', textOf(query, 'token'), (settings, token) =>
      resetPasswordForm(settings, token),
    );
  }

  @Post('reset-password')
  @RateLimit({ perAccount: false })
  async resetPassword(
    @Body() body: unknown,
    @CurrentRequest() context: RequestContext,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const token = textOf(body, 'token');
    const newPassword = textOf(body, 'newPassword');
    if (newPassword !== textOf(body, 'newPasswordRepeat')) {
      sendPage(
        reply,
        resetPasswordForm(this.config, token, ['The two passwords are not the same.']),
      );
      return;
    }
    try {
      await this.passwordReset.reset(token, newPassword, context);
    } catch (error) {
      // The policy's refusal leaves the token usable: the same form again, saying why.
      if (error instanceof DomainError && error.code === 'weak_password') {
        const problems = (error.errors ?? []).map((field) => sentence(field.message));
        sendPage(
          reply,
          resetPasswordForm(this.config, token, problems.length > 0 ? problems : [error.message]),
        );
        return;
      }
      throw error;
    }
    sendPage(reply, resetPasswordDone(this.config));
  }

  @Get('confirm-email-change')
  showConfirmEmailChange(@Query() query: unknown, @Res() reply: FastifyReply): void {
    this.ensureOn(this.config.accountLifecycle.mailFlows);
    this.show(reply, 'confirm-email-change', textOf(query, 'token'), confirmEmailChangeForm);
  }

  @Post('confirm-email-change')
  @RateLimit({ perAccount: false })
  async confirmEmailChange(
    @Body() body: unknown,
    @CurrentRequest() context: RequestContext,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.emailChange.confirm(textOf(body, 'token'), context);
    sendPage(reply, confirmEmailChangeDone(this.config));
  }

  /** The form for a link's token; a link without one is invalid (nothing to post). */
  private show(
    reply: FastifyReply,
    flow: AccountFlow,
    token: string,
    form: (settings: AppConfig, token: string) => Page,
  ): void {
    sendPage(reply, token === '' ? invalidLinkPage(this.config, flow) : form(this.config, token));
  }

  /** A switched-off flow's page is a 404, as its API route is. */
  private ensureOn(enabled: boolean): void {
    if (!enabled) throw new DomainError('feature_disabled', 'This flow is not enabled');
  }
}
