import { Body, Controller, Get, Header, Post, Res, UseFilters } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { errors, type Interaction, type InteractionResults } from 'oidc-provider';
import { RateLimit } from '../../abuse/rate-limit.decorator';
import { Public } from '../../access/public.decorator';
import { AccountPageFilter } from '../../account-pages/account-page.filter';
import type { Page } from '../../account-pages/account-pages.html';
import { HTML_CONTENT_TYPE } from '../../account-pages/send-page';
import { AuditService } from '../../audit/audit.service';
import { AuthService, ISSUED_SESSION, type IssuedTokenPair } from '../../auth/auth.service';
import {
  type SecondFactorAnswer,
  SecondFactorSignIn,
} from '../../auth/mfa/second-factor-sign-in.service';
import { DomainError } from '../../common/errors/domain-error';
import { CurrentRequest, type RequestContext } from '../../common/request-context';
import { AppConfig } from '../../config/app-config';
import { Transactions } from '../../database/database';
import { proofOf } from '../../sessions/sessions.service';
import { OidcClientsRepository } from '../clients/oidc-clients.repository';
import { jsonList } from '../clients/client-metadata';
import { INTERACTION_PATH } from '../provider/oidc-configuration';
import type { SignInIdentity } from '../provider/oidc-accounts';
import { OidcProviderService } from '../provider/oidc-provider.service';
import {
  consentPage,
  loginPage,
  mfaPage,
  PAGE_SCRIPTS,
  PASSKEY_SCRIPT,
  type PageFactor,
  pagesPolicyFor,
} from './oidc-pages.html';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The interaction forms' operations, which take form-encoded bodies (app.setup.ts). */
export const INTERACTION_FORMS: readonly string[] = ['login', 'mfa', 'consent', 'abort'].map(
  (step) => `POST /${INTERACTION_PATH}/:uid/${step}`,
);

const WRONG_CREDENTIALS = 'The username or password is wrong.';
const SCRIPT_HEADERS = ['content-type', 'text/javascript; charset=utf-8'] as const;

/** @simplewebauthn/browser's browser bundle, as the passkey step loads it (read once). */
const WEBAUTHN_BUNDLE = readFileSync(
  path.resolve(
    path.dirname(require.resolve('@simplewebauthn/browser')),
    '../dist/bundle/index.umd.min.js',
  ),
  'utf8',
);
const WRONG_CODE = 'That code is wrong or was already used. Try again.';

/**
 * A form field as one string ('' when absent, repeated or not text). A field with a NUL never
 * gets here: the global pipe refuses it (400).
 */
function textOf(source: unknown, name: string): string {
  const value = (source as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' ? value : '';
}

/**
 * The sign-in and consent pages of the code flow (SPEC §10), server-rendered (script only for
 * the passkey step, served here: PAGE_SCRIPTS).
 * Sign-in goes through the same AuthService as POST /auth/login (accounts, password policy,
 * lockout, rate limits) and the same SecondFactorSignIn as POST /auth/mfa/verify; it starts one
 * of our sessions, which the provider's session is tied to. The `_interaction` cookie is
 * SameSite=Lax and scoped to these paths, so another site cannot post these forms for a user.
 */
@Controller(INTERACTION_PATH)
@ApiExcludeController()
@Public()
@UseFilters(AccountPageFilter)
export class InteractionController {
  constructor(
    private readonly provider: OidcProviderService,
    private readonly auth: AuthService,
    private readonly secondFactor: SecondFactorSignIn,
    private readonly clients: OidcClientsRepository,
    private readonly audit: AuditService,
    private readonly transactions: Transactions,
    private readonly config: AppConfig,
  ) {}

  @Get(PAGE_SCRIPTS.webauthn)
  @Header(...SCRIPT_HEADERS)
  @Header('cache-control', 'public, max-age=3600')
  webauthnScript(): string {
    return WEBAUTHN_BUNDLE;
  }

  @Get(PAGE_SCRIPTS.passkey)
  @Header(...SCRIPT_HEADERS)
  @Header('cache-control', 'public, max-age=3600')
  passkeyScript(): string {
    return PASSKEY_SCRIPT;
  }

  @Get(':uid')
  async show(@Res() reply: FastifyReply): Promise<void> {
    const page = await this.pageOf(reply);
    const { details, client } = page;
    if (details.prompt.name === 'login') {
      this.showLogin(page, {});
      return;
    }
    if (client.firstParty) {
      // First-party apps are ours: their users are not asked.
      await this.finish(reply, { consent: { grantId: await this.grant(details) } });
      return;
    }
    this.send(
      reply,
      client.redirectUris,
      consentPage(this.config, {
        uid: details.uid,
        clientName: client.name,
        scopes: requestedScopes(details),
        api: requestedResources(details).includes(this.provider.settings.apiResource),
      }),
    );
  }

  @Post(':uid/login')
  @RateLimit({ perAccount: 'login' })
  async login(
    @Body() body: unknown,
    @CurrentRequest() context: RequestContext,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const page = await this.pageOf(reply);
    const username = textOf(body, 'username');
    let outcome;
    try {
      const account = await this.auth.authenticate(username, textOf(body, 'password'), context);
      outcome = await this.auth.passwordLogin(account, context);
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'invalid_credentials') throw error;
      this.showLogin(page, { username, problem: WRONG_CREDENTIALS });
      return;
    }
    if ('mfa_required' in outcome) {
      this.showMfa(page, { mfaToken: outcome.mfa_token, factors: pageFactors(outcome.methods) });
      return;
    }
    await this.signedIn(reply, outcome);
  }

  @Post(':uid/mfa')
  @RateLimit({ perAccount: false })
  async mfa(
    @Body() body: unknown,
    @CurrentRequest() context: RequestContext,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const page = await this.pageOf(reply);
    const mfaToken = textOf(body, 'mfa_token');
    let issued: IssuedTokenPair;
    try {
      issued = await this.secondFactor.verify(mfaToken, answerOf(body), context);
    } catch (error) {
      if (error instanceof DomainError && error.code === 'invalid_mfa_code') {
        this.showMfa(page, {
          mfaToken,
          factors: submittedFactors(textOf(body, 'factors')),
          problem: WRONG_CODE,
        });
        return;
      }
      if (error instanceof DomainError && error.code === 'invalid_mfa_token') {
        // Expired or spent: the sign-in starts over with the password.
        this.showLogin(page, { problem: 'The sign-in took too long. Please sign in again.' });
        return;
      }
      throw error;
    }
    await this.signedIn(reply, issued);
  }

  @Post(':uid/consent')
  @RateLimit({ perAccount: false })
  async consent(
    @CurrentRequest() context: RequestContext,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const details = await this.details(reply);
    if (details.prompt.name !== 'consent')
      throw new errors.InvalidRequest('no consent is asked for');
    const grantId = await this.grant(details);
    const userId = details.session?.accountId;
    await this.transactions.run((tx) =>
      this.audit.record(
        tx,
        {
          type: 'oidc.consent_granted',
          actorId: userId ?? null,
          subjectUserId: userId ?? null,
          details: { clientId: details.params.client_id, scopes: requestedScopes(details) },
        },
        context,
      ),
    );
    await this.finish(reply, { consent: { grantId } });
  }

  @Post(':uid/abort')
  @RateLimit({ perAccount: false })
  async abort(@Res() reply: FastifyReply): Promise<void> {
    await this.details(reply);
    await this.finish(reply, {
      error: 'access_denied',
      error_description: 'The user cancelled the sign-in or did not allow access',
    });
  }

  /** The interaction of this browser and its client: what every page of it shows. */
  private async pageOf(reply: FastifyReply): Promise<InteractionPage> {
    const details = await this.details(reply);
    return { reply, details, client: await this.clientOf(details) };
  }

  /** The sign-in form (again, 401, with `problem` after a refusal). */
  private showLogin(page: InteractionPage, input: { username?: string; problem?: string }): void {
    this.send(
      page.reply,
      page.client.redirectUris,
      loginPage(this.config, {
        uid: page.details.uid,
        clientName: page.client.name,
        ...input,
        ...(input.problem === undefined ? {} : { status: 401 }),
      }),
    );
  }

  /** The second step's form (again, 401, with `problem` after a wrong code). */
  private showMfa(
    page: InteractionPage,
    input: { mfaToken: string; factors: PageFactor[]; problem?: string },
  ): void {
    this.send(
      page.reply,
      page.client.redirectUris,
      mfaPage(this.config, {
        uid: page.details.uid,
        ...input,
        ...(input.problem === undefined ? {} : { status: 401 }),
      }),
    );
  }

  /** The provider's interaction of this browser (its cookie); an expired one is an error page. */
  private details(reply: FastifyReply): Promise<Interaction> {
    return this.provider.instance.interactionDetails(reply.request.raw, reply.raw);
  }

  private async clientOf(details: Interaction): Promise<InteractionPage['client']> {
    const client = await this.clients.find(clientIdOf(details));
    if (client === null) throw new errors.InvalidClient('the client no longer exists');
    return {
      name: client.clientName,
      firstParty: client.firstParty,
      redirectUris: jsonList(client.redirectUris),
    };
  }

  /** A sign-in that started our session: the provider's login, tied to it. */
  private async signedIn(reply: FastifyReply, issued: IssuedTokenPair): Promise<void> {
    const session = issued[ISSUED_SESSION];
    if (session === undefined) throw new Error('a sign-in without a session');
    const result: InteractionResults & SignInIdentity = {
      login: {
        accountId: session.userId,
        amr: proofOf(session).amr,
        ts: Math.floor(session.createdAt.getTime() / 1000),
      },
      identity: { sessionId: session.id },
    };
    await this.finish(reply, result);
  }

  /** Grants what the interaction asks for (scopes, claims, the API's scopes), on its grant. */
  private async grant(details: Interaction): Promise<string> {
    const { Grant } = this.provider.instance;
    const grant =
      details.grantId === undefined
        ? new Grant({
            accountId: details.session?.accountId,
            clientId: clientIdOf(details),
          })
        : await Grant.find(details.grantId);
    if (grant === undefined) throw new errors.InvalidRequest('the grant no longer exists');
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    return grant.save();
  }

  /** Hands the result to the provider and sends the browser on (303: a GET, after a POST). */
  private async finish(reply: FastifyReply, result: InteractionResults): Promise<void> {
    const location = await this.provider.interactionResult(reply.request.raw, reply.raw, result);
    void reply.status(303).header('location', location).header('cache-control', 'no-store').send();
  }

  private send(reply: FastifyReply, redirectUris: readonly string[], page: Page): void {
    void reply
      .status(page.status)
      .header('content-type', HTML_CONTENT_TYPE)
      .header('content-security-policy', pagesPolicyFor(redirectUris))
      .header('cache-control', 'no-store')
      .send(page.html);
  }
}

/** The client of the interaction's request (the provider validated it). */
function clientIdOf(details: Interaction): string {
  const { client_id: clientId } = details.params;
  return typeof clientId === 'string' ? clientId : '';
}

interface InteractionPage {
  reply: FastifyReply;
  details: Interaction;
  client: { name: string; firstParty: boolean; redirectUris: string[] };
}

/** The scopes of the interaction's request, in the order asked. */
function requestedScopes(details: Interaction): string[] {
  const { scope } = details.params;
  return (typeof scope === 'string' ? scope : '').split(' ').filter((scope) => scope !== '');
}

/** The resource indicators of the interaction's request (RFC 8707: one or more). */
function requestedResources(details: Interaction): string[] {
  const { resource } = details.params;
  const resources: unknown[] = Array.isArray(resource) ? resource : [resource];
  return resources.filter((value) => typeof value === 'string');
}

/** The second factor a form answers with: a code, or the passkey step's assertion. */
function answerOf(body: unknown): SecondFactorAnswer {
  const method = textOf(body, 'method');
  if (method === 'passkey') {
    let response: unknown;
    try {
      response = JSON.parse(textOf(body, 'response'));
    } catch {
      response = {};
    }
    // Checked as an assertion by SecondFactorSignIn; anything else is a wrong answer.
    return { method, response: typeof response === 'object' && response !== null ? response : {} };
  }
  return {
    method: method === 'recovery_code' ? 'recovery_code' : 'totp',
    code: textOf(body, 'code'),
  };
}

/** The factors the form offered (a hidden field); both codes when it was tampered with. */
function submittedFactors(field: string): PageFactor[] {
  const factors = pageFactors(field.split(','));
  return factors.length > 0 ? factors : ['totp', 'recovery_code'];
}

function pageFactors(methods: readonly string[]): PageFactor[] {
  return methods.filter(
    (method): method is PageFactor =>
      method === 'totp' || method === 'recovery_code' || method === 'passkey',
  );
}
