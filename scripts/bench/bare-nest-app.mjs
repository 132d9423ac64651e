// Baseline (a) of `npm run bench`: the smallest Nest-on-Fastify app, one public GET route that
// returns a small JSON object. It measures what Nest and Fastify cost per request on this
// machine, so GET /users/me can be reported as a fraction of it. Plain JavaScript: the
// decorators are applied by hand, which is what TypeScript compiles `@Controller` etc. to.
// Usage: PORT=... node scripts/bench/bare-nest-app.mjs  (listens on 127.0.0.1)
import { Controller, Get, Module } from '@nestjs/common';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { BARE_PATH } from './config.mjs';

class PingController {
  ping() {
    return { status: 'ok' };
  }
}
// BARE_PATH is /api/v1/bench/ping: a prefix as deep as the app's routes.
Controller(path.posix.dirname(BARE_PATH).slice(1))(PingController);
Get(path.posix.basename(BARE_PATH))(
  PingController.prototype,
  'ping',
  Object.getOwnPropertyDescriptor(PingController.prototype, 'ping'),
);

class BareModule {}
Module({ controllers: [PingController] })(BareModule);

const app = await NestFactory.create(BareModule, new FastifyAdapter(), { logger: false });
app.enableShutdownHooks();
await app.listen({ port: Number(process.env.PORT ?? 3001), host: '127.0.0.1' });
