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
  closeConnectionsOnceIdle(app);
  await configureApp(app, config);
  await app.listen({ port: config.http.port, host: config.http.host });
}

/**
 * At shutdown the server stops accepting connections and lets the requests in flight finish, but
 * Node closes a keep-alive connection only when it is idle at that moment: one whose response
 * is sent afterwards would stay open for Fastify's keepAliveTimeout (72 s) and keep the process
 * alive past any supervisor's grace period. So while closing, idle connections are closed every
 * 100 ms until the last one is gone. Nothing runs per request.
 */
function closeConnectionsOnceIdle(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('preClose', (done) => {
    const server = fastify.server;
    const reaper = setInterval(() => server.closeIdleConnections(), 100);
    server.once('close', () => clearInterval(reaper));
    done();
  });
}

bootstrap().catch((error: unknown) => {
  // Configuration errors name the variable; print them without a stack trace.
  console.error(
    error instanceof Error && error.name === 'ConfigurationError' ? error.message : error,
  );
  process.exit(1);
});
