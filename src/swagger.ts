import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { BEARER_SCHEME, OAUTH2_SCHEME } from './auth/decorators/authenticated.decorator';
import { API_PREFIX } from './app.setup';

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
  return SwaggerModule.createDocument(app, config);
}

/** Swagger UI at /docs, the OpenAPI JSON at /docs-json. */
export function setupSwagger(app: INestApplication): void {
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'Identity service API',
    swaggerOptions: { persistAuthorization: false, tryItOutEnabled: true },
  });
}
