import helmet, { FastifyHelmetOptions } from '@fastify/helmet';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';

type ContentSecurityPolicy = Exclude<FastifyHelmetOptions['contentSecurityPolicy'], boolean>;

/** The API answers JSON only: nothing in a response may load anything or be framed. */
export const API_CSP_HEADER = "default-src 'none'; frame-ancestors 'none'";
const API_CSP: ContentSecurityPolicy = {
  useDefaults: false,
  directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
};

/**
 * Swagger UI: scripts only from this origin (the page has no inline script; its setup is
 * `swagger-ui-init.js`), inline styles (the page's `<style>` blocks and a style attribute, and
 * more that Swagger UI inserts as it runs, so hashes would not do), `data:` images (its icons),
 * and requests to this origin ("Try it out", the OAuth2 password flow). No framing, no
 * plugins, no `<base>`.
 */
const DOCS_CSP: ContentSecurityPolicy = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    formAction: ["'self'"],
    baseUri: ["'none'"],
    objectSrc: ["'none'"],
    frameAncestors: ["'none'"],
  },
};

const HELMET_OPTIONS: FastifyHelmetOptions = {
  contentSecurityPolicy: API_CSP,
  // helmet's other defaults stay: HSTS (one year, subdomains), nosniff, Referrer-Policy
  // no-referrer, Cross-Origin-Opener-Policy and -Resource-Policy same-origin, no X-Powered-By.
  xFrameOptions: { action: 'deny' },
};

/**
 * Security headers on every response (routes, 404s and errors) through @fastify/helmet, with
 * the Swagger UI's own CSP on the routes under `docsPath`. Call before `app.init()`: the docs
 * routes get their policy as they are registered.
 */
export async function registerSecurityHeaders(
  app: NestFastifyApplication,
  docsPath: string,
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  // Added before the plugin, so it runs before helmet's own onRoute hook, which reads it.
  fastify.addHook('onRoute', (route) => {
    if (route.url === docsPath || route.url.startsWith(`${docsPath}/`)) {
      route.helmet = { contentSecurityPolicy: DOCS_CSP };
    }
  });
  await app.register(helmet, HELMET_OPTIONS);
}
