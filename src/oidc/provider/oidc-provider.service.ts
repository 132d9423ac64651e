import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, type InteractionResults } from 'oidc-provider';
import { Clock } from '../../common/clock/clock';
import { AppConfig } from '../../config/app-config';
import type { OidcSettings } from '../../config/oidc-settings';
import { clientSecretMatches } from '../clients/client-metadata';
import { OidcClientsRepository } from '../clients/oidc-clients.repository';
import {
  errorPage,
  loggedOutPage,
  logoutPage,
  sendProviderPage,
} from '../interaction/oidc-pages.html';
import { adapterFactory } from './oidc-adapter';
import { OidcAccounts } from './oidc-accounts';
import { INTERACTION_PATH, OIDC_ROUTES, providerConfiguration } from './oidc-configuration';
import { OidcModelsRepository } from './oidc-models.repository';
import { providerRequestContext, rememberRequestId } from './request-context';
import { SessionsService } from '../../sessions/sessions.service';

/** The discovery document, at the service root whatever the issuer's path (SPEC §10). */
export const DISCOVERY_PATH = '/.well-known/openid-configuration';
/** RFC 8414's name for the same metadata. */
export const AUTHORIZATION_SERVER_METADATA_PATH = '/.well-known/oauth-authorization-server';

/**
 * The OpenID Provider (SPEC §10): oidc-provider, configured on our accounts, sessions, keys and
 * database, answering its routes inside the Fastify app (mount). Off (OIDC_ENABLED, or
 * production without its keys): nothing is mounted and the interaction pages answer 404.
 */
@Injectable()
export class OidcProviderService implements OnModuleInit {
  private readonly logger = new Logger('OidcProvider');
  // Built with the service, not at module init: app.setup.ts mounts it before Nest's init.
  private readonly provider: Provider | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly accounts: OidcAccounts,
    private readonly models: OidcModelsRepository,
    private readonly clients: OidcClientsRepository,
    private readonly sessions: SessionsService,
    private readonly clock: Clock,
  ) {
    this.provider = this.build();
  }

  onModuleInit(): void {
    if (this.config.oidc === undefined) {
      this.logger.log(
        'The OpenID Provider is off: OIDC_ENABLED=false, or production without its keys (OIDC_* in .env.example)',
      );
    } else if (this.config.oidc.generated) {
      this.logger.warn(
        'The OpenID Provider has no configured keys (OIDC_* in .env.example): keys were generated ' +
          'for this process. Provider sessions and ID tokens do not survive a restart and are not ' +
          'shared between instances.',
      );
    }
  }

  private build(): Provider | undefined {
    const oidc = this.config.oidc;
    if (oidc === undefined) return undefined;
    const provider = new Provider(
      oidc.issuer,
      providerConfiguration({
        config: this.config,
        oidc,
        accounts: this.accounts,
        adapter: adapterFactory(this.models, this.clients, this.clock),
        pages: {
          error: (ctx, out) => sendProviderPage(ctx, errorPage(this.config, ctx.status, out)),
          logout: (ctx, form) => sendProviderPage(ctx, logoutPage(this.config, form)),
          loggedOut: (ctx) => sendProviderPage(ctx, loggedOutPage(this.config)),
        },
      }),
    );
    // X-Forwarded-* are believed exactly when Fastify believes them (TRUST_PROXY).
    provider.proxy = this.config.http.trustProxy !== false;
    // oidc-provider is told a marker and the hash, never a secret (client-metadata.ts).
    provider.Client.prototype.compareClientSecret = function compare(
      this: { clientSecret?: string },
      actual: string,
    ): boolean {
      return clientSecretMatches(this.clientSecret, actual);
    };
    provider.use(async (ctx, next) => {
      // The provider's own pages (response_mode=form_post; at resume, the sign-out of the
      // previous user) submit themselves with one inline script, whose hash it adds to an
      // existing script-src. The API's policy has none: that script would be blocked and the
      // user left on a blank page.
      const policy = ctx.response.get('content-security-policy');
      if (typeof policy === 'string' && !/(^|;)\s*script-src\s/.test(policy)) {
        ctx.set('content-security-policy', `${policy};script-src 'self'`);
      }
      await next();
    });
    provider.use(async (ctx, next) => {
      const endingSession = ctx.path.startsWith(`${OIDC_ROUTES.end_session}/confirm`);
      const before = endingSession ? await this.sessionUidOf(provider, ctx) : undefined;
      await next();
      // "Sign out" destroys the provider session; "Stay signed in" only signs out of that app
      // (the provider revokes its grant) and ours lives on for the others.
      if (before !== undefined && (await provider.Session.findByUid(before)) === undefined) {
        await this.endSession(before, ctx);
      }
    });
    provider.on('server_error', (_ctx, error) => {
      this.logger.error(`OpenID Provider error: ${error.message}`, error.stack);
    });
    return provider;
  }

  get settings(): OidcSettings {
    const oidc = this.config.oidc;
    if (oidc === undefined) throw new Error('The OpenID Provider is off');
    return oidc;
  }

  /** The provider, for the interaction pages; a 404 when it is off. */
  get instance(): Provider {
    if (this.provider === undefined) throw new errors.InvalidRequest('not found', 404);
    return this.provider;
  }

  /**
   * Answers the provider's routes (and the discovery document at the root) from Fastify: each
   * is a route whose onRequest hands the raw request to oidc-provider before Fastify parses
   * a body (the provider reads its own). `headersFor`: the headers every response gets
   * (app.setup.ts), set on the raw response the provider writes.
   */
  mount(fastify: FastifyInstance): void {
    const provider = this.provider;
    if (provider === undefined) return;
    const callback = provider.callback();
    const mountPath = this.mountPath();
    const handOver = (rewrite?: string) => (request: FastifyRequest, reply: FastifyReply) => {
      const raw = request.raw as IncomingMessage & { originalUrl?: string };
      const url = request.url;
      rememberRequestId(raw, request.id);
      raw.originalUrl = url;
      raw.url = rewrite ?? url.slice(mountPath.length);
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) reply.raw.setHeader(name, value);
      }
      reply.hijack();
      return callback(raw, reply.raw);
    };
    const methods = ['GET', 'POST', 'OPTIONS'] as const;
    fastify.route({
      method: [...methods],
      url: `${mountPath}/oidc/*`,
      onRequest: handOver(),
      handler: () => undefined,
    });
    const query = (request: FastifyRequest): string => {
      const at = request.url.indexOf('?');
      return at === -1 ? '' : request.url.slice(at);
    };
    for (const path of [DISCOVERY_PATH, AUTHORIZATION_SERVER_METADATA_PATH]) {
      const urls = mountPath === '' ? [path] : [path, `${mountPath}${path}`];
      for (const url of urls) {
        fastify.route({
          method: ['GET', 'OPTIONS'],
          url,
          onRequest: (request, reply) =>
            handOver(`${DISCOVERY_PATH}${query(request)}`)(request, reply),
          handler: () => undefined,
        });
      }
    }
  }

  /**
   * Whether mount() hands `url` to the provider: its routes have CORS of their own (per client,
   * clientBasedCORS), which the API's CORS_ORIGINS must not widen (app.setup.ts).
   */
  serves(url: string): boolean {
    if (this.provider === undefined) return false;
    const path = url.split('?', 1)[0] ?? '';
    const mountPath = this.mountPath();
    if (path.startsWith(`${mountPath}/oidc/`)) {
      return !path.startsWith(`/${INTERACTION_PATH}/`);
    }
    return [DISCOVERY_PATH, AUTHORIZATION_SERVER_METADATA_PATH].some(
      (metadata) => path === metadata || path === `${mountPath}${metadata}`,
    );
  }

  private mountPath(): string {
    return new URL(this.settings.issuer).pathname.replace(/\/+$/, '');
  }

  /**
   * The result of an interaction, and where the browser goes on (303 from our page). A consent
   * keeps the sign-in of the interaction before it (its last submission): without it the
   * provider would find prompt=login or max_age unanswered and ask for the password again.
   */
  interactionResult(
    request: IncomingMessage,
    response: ServerResponse,
    result: InteractionResults,
  ): Promise<string> {
    return this.instance.interactionResult(request, response, result, {
      mergeWithLastSubmission: result.consent !== undefined,
    });
  }

  private async sessionUidOf(
    provider: Provider,
    ctx: { cookies: { get(name: string, options?: { signed?: boolean }): string | undefined } },
  ): Promise<string | undefined> {
    const cookie = ctx.cookies.get(provider.cookieName('session'), { signed: true });
    if (cookie === undefined) return undefined;
    const session = await provider.Session.find(cookie);
    return session?.uid;
  }

  /** RP-initiated logout destroyed the provider session: ours ends with it. */
  private async endSession(uid: string, ctx: { req: IncomingMessage; ip: string }): Promise<void> {
    const session = await this.accounts.sessionOf(uid);
    if (session === null) return;
    await this.sessions.logout(session.userId, session.id, providerRequestContext(ctx));
  }
}
