import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { BEARER_SCHEME, OAUTH2_SCHEME } from './access/authenticated.decorator';
import { API_PREFIX } from './app.setup';
import { documentFrameworkErrors } from './common/http/documented-errors';
import { ProblemDto } from './common/http/problem.dto';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Identity service')
    .setDescription(
      'Accounts, login, tokens and roles. Use "Authorize": the OAuth2 password flow logs in ' +
        'with a username (or email) and password; or paste an access token as a bearer token.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, BEARER_SCHEME)
    .addOAuth2(
      {
        type: 'oauth2',
        flows: { password: { tokenUrl: `/${API_PREFIX}/auth/token`, scopes: {} } },
      },
      OAUTH2_SCHEME,
    )
    .build();
  // What the controllers declare, completed with what every route can answer besides
  // (src/common/http/documented-errors.ts): the document lists every status the service returns.
  return documentFrameworkErrors(
    SwaggerModule.createDocument(app, config, { extraModels: [ProblemDto] }),
  );
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
      persistAuthorization: false,
      tryItOutEnabled: true,
      // No badge image from the public validator: the page loads nothing from elsewhere.
      validatorUrl: null,
    },
  });
}
