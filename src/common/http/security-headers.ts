import helmet, { type HelmetOptions } from 'helmet';

type ContentSecurityPolicy = Exclude<HelmetOptions['contentSecurityPolicy'], boolean | undefined>;

/** The API answers JSON only: nothing in a response may load anything or be framed. */
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

/**
 * The account pages (src/account-pages): HTML with no script at all, styled by their one
 * stylesheet from this origin, whose forms post only to this origin. No framing, no `<base>`.
 */
const PAGES_CSP: ContentSecurityPolicy = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    styleSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
};

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: API_CSP,
  // helmet's other defaults stay: HSTS (one year, subdomains), nosniff, Referrer-Policy
  // no-referrer, Cross-Origin-Opener-Policy and -Resource-Policy same-origin, no X-Powered-By.
  xFrameOptions: { action: 'deny' },
};

/**
 * The headers helmet sets for `options`, computed once. helmet's middleware only sets and
 * removes headers that do not depend on the request, so running it against a recording
 * response gives the exact set it would write on every response; @fastify/helmet built a new
 * helmet on every request (docs/decisions.md, "Security headers computed once").
 */
export function helmetHeaders(options: HelmetOptions): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]): void {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string): void {
      delete headers[name.toLowerCase()];
    },
  };
  let finished = false;
  const middleware = helmet(options) as unknown as (
    request: object,
    response: typeof recorder,
    next: (error?: unknown) => void,
  ) => void;
  middleware({}, recorder, (error?: unknown) => {
    if (error instanceof Error) throw error;
    finished = error === undefined;
  });
  if (!finished) throw new Error('helmet did not set its headers synchronously');
  return Object.freeze(headers);
}

/**
 * Nothing the API answers may be kept by a browser or a shared cache: most answers carry
 * personal data or tokens (RFC 6749 §5.1 asks `no-store` of token responses), and the rest
 * (health, the key set, errors) must be fresh. Swagger UI's files are the only exception.
 */
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * The security headers of every API response, computed once at boot: also written by the
 * answers Fastify and Node give before any hook runs (early-errors.ts).
 */
export const API_RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  ...helmetHeaders(HELMET_OPTIONS),
  ...NO_STORE,
});

/**
 * The headers of every response (routes, 404s and errors) for a request URL: helmet's and
 * `no-store`, with the Swagger UI's own CSP (and no `no-store`) on the routes under `docsPath`,
 * and `common` (the same on every response) added to both.
 */
export function responseHeadersFor(
  docsPath: string,
  common: Readonly<Record<string, string>>,
): (url: string) => Readonly<Record<string, string>> {
  const apiHeaders = Object.freeze({ ...API_RESPONSE_HEADERS, ...common });
  const docsHeaders = Object.freeze({
    ...helmetHeaders({ ...HELMET_OPTIONS, contentSecurityPolicy: DOCS_CSP }),
    ...common,
  });
  return (url) =>
    url === docsPath || url.startsWith(`${docsPath}/`) || url.startsWith(`${docsPath}?`)
      ? docsHeaders
      : apiHeaders;
}

/**
 * The Content-Security-Policy of the account pages, replacing the API's on their responses
 * (helmet's other headers, Referrer-Policy no-referrer among them, are the same).
 */
export const PAGES_CONTENT_SECURITY_POLICY: string = helmetHeaders({
  ...HELMET_OPTIONS,
  contentSecurityPolicy: PAGES_CSP,
})['content-security-policy'];
