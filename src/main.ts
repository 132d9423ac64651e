import './config/dotenv';
import { ConsoleLogger, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { configFromEnvironment } from './config/app-config';

const NEST_LEVELS: Record<string, LogLevel[]> = {
  fatal: ['fatal'],
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug'],
  trace: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
  silent: [],
};

async function bootstrap(): Promise<void> {
  const config = configFromEnvironment();
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule,
    createFastifyAdapter(config, { logger: config.logLevel !== 'silent' }),
    { logger: new ConsoleLogger({ json: true, logLevels: NEST_LEVELS[config.logLevel] }) },
  );
  app.enableShutdownHooks();
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
