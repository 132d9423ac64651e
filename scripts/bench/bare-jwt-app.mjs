import 'reflect-metadata';
// Baselines (a') and (a'') of `npm run bench:jwt-floor`: the bare Nest-on-Fastify app of
// baseline (a) with the one thing GET /users/me cannot do without, an access token verified on
// every request by the libraries the service uses for it: passport-jwt's Strategy (jsonwebtoken
// underneath), HS256 with a KeyObject, issuer and audience checked, the payload as the answer.
// (a') GET /api/v1/bench/me runs it the documented way, @nestjs/passport's AuthGuard('jwt');
// (a'') GET /api/v1/bench/me-direct runs the strategy as the service does (a per-request object
// inheriting from it, src/auth/guards/run-strategy.ts), without passport's middleware. No
// database, no logger. Plain JavaScript: decorators applied by hand.
// Usage: PORT=... JWT_SECRET=... JWT_ISSUER=... JWT_AUDIENCE=... node scripts/bench/bare-jwt-app.mjs
import { Controller, Get, Injectable, Module, Req, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Buffer } from 'node:buffer';
import { createSecretKey } from 'node:crypto';
import * as path from 'node:path';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { BARE_JWT_PATH, BARE_PATH } from './config.mjs';

const key = createSecretKey(Buffer.from(process.env.JWT_SECRET ?? '', 'utf8'));

class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor() {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: key,
      algorithms: ['HS256'],
      issuer: process.env.JWT_ISSUER,
      audience: process.env.JWT_AUDIENCE,
    });
  }

  validate(payload) {
    return payload;
  }
}
Injectable()(JwtStrategy);

/** The strategy run as src/auth/guards/run-strategy.ts runs it. */
class DirectJwtGuard {
  constructor(strategy) {
    this.strategy = strategy;
  }

  canActivate(context) {
    const request = context.switchToHttp().getRequest();
    return new Promise((resolve) => {
      const run = Object.create(this.strategy);
      run.success = (user) => {
        request.user = user;
        resolve(true);
      };
      run.fail = () => resolve(false);
      run.error = () => resolve(false);
      run.authenticate(request, { session: false });
    });
  }
}
Injectable()(DirectJwtGuard);
Reflect.defineMetadata('design:paramtypes', [JwtStrategy], DirectJwtGuard);

class MeController {
  me(request) {
    return { id: request.user.sub };
  }

  meDirect(request) {
    return { id: request.user.sub };
  }

  // Unguarded: the readiness probe of the bench.
  ping() {
    return { status: 'ok' };
  }
}
Controller(path.posix.dirname(BARE_JWT_PATH).slice(1))(MeController);
const descriptor = Object.getOwnPropertyDescriptor(MeController.prototype, 'me');
Req()(MeController.prototype, 'me', 0);
UseGuards(AuthGuard('jwt'))(MeController.prototype, 'me', descriptor);
Get(path.posix.basename(BARE_JWT_PATH))(MeController.prototype, 'me', descriptor);
const direct = Object.getOwnPropertyDescriptor(MeController.prototype, 'meDirect');
Req()(MeController.prototype, 'meDirect', 0);
UseGuards(DirectJwtGuard)(MeController.prototype, 'meDirect', direct);
Get(`${path.posix.basename(BARE_JWT_PATH)}-direct`)(MeController.prototype, 'meDirect', direct);
Get(path.posix.basename(BARE_PATH))(
  MeController.prototype,
  'ping',
  Object.getOwnPropertyDescriptor(MeController.prototype, 'ping'),
);

class BareJwtModule {}
Module({ controllers: [MeController], providers: [JwtStrategy, DirectJwtGuard] })(BareJwtModule);

const app = await NestFactory.create(BareJwtModule, new FastifyAdapter(), { logger: false });
app.enableShutdownHooks();
await app.listen({ port: Number(process.env.PORT ?? 3002), host: '127.0.0.1' });
