import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { BEARER_SCHEME, OAUTH2_SCHEME } from './access/authenticated.decorator';
import { API_PREFIX } from './app.setup';
import { documentFrameworkErrors } from './common/http/documented-errors';
import { ProblemDto } from './common/http/problem.dto';
import { downloadUrlPlugin, tokenRefreshPlugin } from './common/http/swagger-ui-token-refresh';

/**
 * The operationId of every route, by `Controller.method`: stable names a generated client
 * calls (`client.GET` paths stay the same, but SDK generators name functions after these), so
 * renaming a handler does not rename the client's function. Tests list them all.
 */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'AuthController.register': 'register',
  'AuthController.login': 'login',
  'AuthController.token': 'requestOAuth2Token',
  'AuthController.refresh': 'refreshTokens',
  'AuthController.logout': 'logout',
  'AuthController.logoutAll': 'logoutAllSessions',
  'PasswordController.change': 'changePassword',
  'MfaLoginController.verify': 'verifyMfa',
  'MfaLoginController.stepUp': 'stepUpMfa',
  'EmailVerificationController.verify': 'verifyEmail',
  'EmailVerificationController.resend': 'resendEmailVerification',
  'PasswordResetController.forgot': 'forgotPassword',
  'PasswordResetController.resetPassword': 'resetPassword',
  'JwksController.jwks': 'getJwks',
  'SessionsController.list': 'listSessions',
  'SessionsController.revoke': 'revokeSession',
  'UsersController.me': 'getCurrentUser',
  'UsersController.updateMe': 'updateCurrentUser',
  'UsersController.list': 'listUsers',
  'UsersController.get': 'getUser',
  'UsersController.update': 'updateUser',
  'UsersController.remove': 'deleteUser',
  'UsersController.unlock': 'unlockUser',
  'UsersController.grantRole': 'grantRole',
  'UsersController.revokeRole': 'revokeRole',
  'EmailChangeController.request': 'requestEmailChange',
  'EmailChangeController.confirm': 'confirmEmailChange',
  'AdminPasswordResetController.send': 'sendPasswordReset',
  'MfaEnrolmentController.status': 'getMySecondFactors',
  'MfaEnrolmentController.startTotp': 'startTotpEnrolment',
  'MfaEnrolmentController.confirmTotp': 'confirmTotpEnrolment',
  'MfaEnrolmentController.removeTotp': 'removeTotp',
  'MfaEnrolmentController.regenerateRecoveryCodes': 'regenerateRecoveryCodes',
  'MfaAdminController.status': 'getUserSecondFactors',
  'MfaAdminController.reset': 'resetUserSecondFactors',
  'AuditController.list': 'listAuditEvents',
  'ContentController.public': 'getPublicContent',
  'ContentController.user': 'getUserContent',
  'ContentController.moderator': 'getModeratorContent',
  'ContentController.admin': 'getAdminContent',
  'ContentController.stepUp': 'getStepUpContent',
  'HealthController.live': 'getLiveness',
  'HealthController.ready': 'getReadiness',
  'PasskeysController.registrationOptions': 'passkeyRegistrationOptions',
  'PasskeysController.register': 'registerPasskey',
  'PasskeysController.list': 'listPasskeys',
  'PasskeysController.rename': 'renamePasskey',
  'PasskeysController.remove': 'deletePasskey',
  'PasskeyOptionsController.signInOptions': 'passkeySignInOptions',
  'PasskeyOptionsController.secondFactorOptions': 'passkeySecondFactorOptions',
  'PasskeyOptionsController.stepUpOptions': 'passkeyStepUpOptions',
  'PasskeyLoginController.login': 'loginWithPasskey',
  'OidcClientsController.create': 'createOidcClient',
  'OidcClientsController.list': 'listOidcClients',
  'OidcClientsController.get': 'getOidcClient',
  'OidcClientsController.update': 'updateOidcClient',
  'OidcClientsController.rotateSecret': 'rotateOidcClientSecret',
  'OidcClientsController.remove': 'deleteOidcClient',
};

/** A route missing from {@link OPERATION_IDS} still gets a camelCase id (`metricsScrape`). */
export function operationIdOf(controllerKey: string, methodKey: string): string {
  const listed = OPERATION_IDS[`${controllerKey}.${methodKey}`];
  if (listed !== undefined) return listed;
  const controller = controllerKey.replace(/Controller$/, '');
  return (
    controller.charAt(0).toLowerCase() +
    controller.slice(1) +
    methodKey.charAt(0).toUpperCase() +
    methodKey.slice(1)
  );
}

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const tokenUrl = `/${API_PREFIX}/auth/token`;
  const config = new DocumentBuilder()
    .setTitle('Identity service')
    .setDescription(
      'Accounts, login, tokens and roles. Use "Authorize": the OAuth2 password flow logs in ' +
        'with a username (or email) and password, and Swagger UI then renews an expired access ' +
        'token with the refresh token by itself; or paste an access token as a bearer token.',
    )
    .setVersion('1')
    // Relative: the document is right for whichever host and scheme serve it (behind a proxy
    // too); paths carry the /api/v1 prefix themselves, since /.well-known sits at the root.
    .addServer('/', 'This service (relative to the address the document is served from)')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
    .addOAuth2(
      {
        type: 'oauth2',
        flows: { password: { tokenUrl, refreshUrl: tokenUrl, scopes: {} } },
      },
      OAUTH2_SCHEME,
    )
    .build();
  // What the controllers declare, completed with what every route can answer besides
  // (src/common/http/documented-errors.ts): the document lists every status the service returns.
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ProblemDto],
    operationIdFactory: operationIdOf,
    // Tags are the controllers' and methods' own @ApiTags; none made up from class names.
    autoTagControllers: false,
  });
  markPublicOperations(document);
  return documentFrameworkErrors(document);
}

/**
 * `security: []` on every operation that declares no scheme: @Authenticated() (and @Roles())
 * declare theirs, and only @Public() routes have none (an e2e test checks the document against
 * what the guard enforces on every route). @nestjs/swagger leaves an empty list out.
 */
function markPublicOperations(document: OpenAPIObject): void {
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.put, item.post, item.delete, item.patch]) {
      if (operation !== undefined) operation.security ??= [];
    }
  }
}

/** Where Swagger UI is served (`/docs`); its routes get their own Content-Security-Policy. */
export const DOCS_PATH = 'docs';

/** Swagger UI at /docs, the OpenAPI JSON at /docs-json. */
export function setupSwagger(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup(DOCS_PATH, app, document, {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    yamlDocumentUrl: `${DOCS_PATH}-yaml`,
    customSiteTitle: 'Identity service API',
    swaggerOptions: {
      // The authorization survives a reload (in the page's localStorage, this origin only).
      persistAuthorization: true,
      tryItOutEnabled: true,
      // No badge image from the public validator: the page loads nothing from elsewhere.
      validatorUrl: null,
      // Written into swagger-ui-init.js (a file of this origin, so the CSP lets them run):
      // an expired token is renewed with the refresh token (swagger-ui-token-refresh.ts).
      plugins: [downloadUrlPlugin, tokenRefreshPlugin],
    },
  });
}
