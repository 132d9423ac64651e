import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { writeFileSync } from 'node:fs';
import { AppModule } from './app.module';
import { createFastifyAdapter, setRoutePrefix } from './app.setup';
import { loadAppConfig } from './config/app-config';
import { buildOpenApiDocument } from './swagger';

/**
 * The OpenAPI document the service serves at /docs-json, built without a database or a server:
 * Nest's preview mode reads the modules and controllers and instantiates no provider.
 */
export async function buildOpenApiDocumentOffline(): Promise<OpenAPIObject> {
  const config = loadAppConfig({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule,
    createFastifyAdapter(config, { logger: false }),
    { preview: true, logger: false, abortOnError: false },
  );
  try {
    setRoutePrefix(app);
    return buildOpenApiDocument(app);
  } finally {
    await app.close();
  }
}

// `node dist/src/openapi-document.js [file]`: the document as JSON, to the file or stdout.
if (require.main === module) {
  buildOpenApiDocumentOffline()
    .then((document) => {
      const text = `${JSON.stringify(document, null, 2)}\n`;
      if (process.argv[2] === undefined) process.stdout.write(text);
      else writeFileSync(process.argv[2], text);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
