import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, PROBLEM_TYPES } from '../common/errors/domain-error';
import {
  isInfrastructureFailure,
  RETRY_AFTER_SECONDS,
} from '../common/errors/infrastructure-failure';
import { ValidationFailedError } from '../common/errors/validation-failed.error';
import { reportRefusal } from '../common/http/refusals';
import { AppConfig } from '../config/app-config';
import {
  type AccountFlow,
  errorPage,
  invalidLinkPage,
  type Page,
  rateLimitedPage,
  unavailablePage,
} from './account-pages.html';
import { sendPage } from './send-page';

const FLOW_OF_ROUTE: Readonly<Record<string, AccountFlow>> = {
  '/account/verify-email': 'verify-email',
  '/account/reset-password': 'reset-password',
  '/account/confirm-email-change': 'confirm-email-change',
};

/**
 * The account pages' errors as HTML pages, not problem+json (the global filter's): an invalid
 * link 400 saying what to do next, a switched-off flow 404, 429 and 503 with Retry-After,
 * anything unknown logged and a 500 page.
 */
@Catch()
export class AccountPageFilter implements ExceptionFilter {
  private readonly logger = new Logger('AccountPageFilter');

  constructor(private readonly config: AppConfig) {}

  catch(thrown: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const exception = this.unavailableIfInfrastructure(thrown, request);
    // 429s are counted for the audit log, as on the API's routes.
    reportRefusal(request, exception);
    if (reply.sent) return;
    const retryAfter =
      exception instanceof DomainError ? exception.meta.retryAfterSeconds : undefined;
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    sendPage(reply, this.pageFor(exception, request));
  }

  /** The database or Redis could not serve: a 503 to retry, as on the API (its filter says more). */
  private unavailableIfInfrastructure(thrown: unknown, request: FastifyRequest): unknown {
    if (thrown instanceof DomainError || !isInfrastructureFailure(thrown)) return thrown;
    this.logger.warn(
      `Infrastructure failure on ${request.method} ${request.routeOptions.url ?? ''} (request ${request.id})`,
    );
    return new DomainError('service_unavailable', 'Unavailable', undefined, {
      retryAfterSeconds: RETRY_AFTER_SECONDS,
    });
  }

  private domainPage(error: DomainError, flow: AccountFlow | undefined): Page {
    const { code } = error;
    if (code === 'invalid_account_token') {
      return invalidLinkPage(this.config, flow ?? 'verify-email');
    }
    if (code === 'feature_disabled') return unavailablePage(this.config);
    if (code === 'rate_limited') return rateLimitedPage(this.config, error.meta.retryAfterSeconds);
    if (code === 'service_unavailable') {
      return errorPage(this.config, 503, 'The service is busy. Please try again in a moment.');
    }
    if (code === 'email_taken' || code === 'conflict') {
      // An email change whose address another account took meanwhile.
      return errorPage(
        this.config,
        409,
        'Another account uses this email address now. The link keeps working until it expires, should the address become free again.',
      );
    }
    const { status, title } = PROBLEM_TYPES[code];
    return errorPage(this.config, status, `${title}.`);
  }

  private pageFor(exception: unknown, request: FastifyRequest): Page {
    const flow = FLOW_OF_ROUTE[request.routeOptions.url ?? ''];
    if (exception instanceof DomainError) return this.domainPage(exception, flow);
    // A form the pages never send (a NUL character in a field, say): refused like any bad input.
    if (exception instanceof ValidationFailedError) {
      return errorPage(this.config, 400, 'This request could not be handled.');
    }
    const status = statusOf(exception);
    if (status < 500) {
      return errorPage(this.config, status, 'This request could not be handled.');
    }
    this.logger.error(
      `Unhandled error on ${request.method} ${request.routeOptions.url ?? ''} (request ${request.id})`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    return errorPage(this.config, 500, 'An unexpected error occurred. Please try again later.');
  }
}

/** An HttpException's status, or a Fastify error's (body parsing, media type, size); else 500. */
function statusOf(exception: unknown): number {
  if (exception instanceof HttpException) return exception.getStatus();
  const statusCode = (exception as { statusCode?: unknown } | null)?.statusCode;
  return typeof statusCode === 'number' && statusCode >= 400 && statusCode < 600 ? statusCode : 500;
}
