import './config/dotenv';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { configFromEnvironment } from './config/app-config';
import { asyncStdout, createLogger } from './logging/logger';
import { PinoNestLogger } from './logging/nest-logger';

async function bootstrap(): Promise<void> {
  const config = configFromEnvironment();
  // One logger for Fastify's lines, the request lines and Nest's, on one asynchronous stdout.
  const logger = createLogger(config.logLevel, asyncStdout());
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule,
    createFastifyAdapter(config, { logger: config.logLevel === 'silent' ? false : logger }),
    { logger: new PinoNestLogger(logger) },
  );
  // After the shutdown hooks, process.exit rather than re-raising the signal: the 'exit'
  // event is what flushes the log lines still buffered.
  app.enableShutdownHooks([], { useProcessExit: true });
  await configureApp(app, config);
  await app.listen({ port: config.http.port, host: config.http.host });
}

bootstrap().catch((error: unknown) => {
  // Configuration errors name the variable; print them without a stack trace.
  console.error(
    error instanceof Error && error.name === 'ConfigurationError' ? error.message : error,
  );
  process.exit(1);
});
