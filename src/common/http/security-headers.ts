import helmet, { type HelmetOptions } from 'helmet';

type ContentSecurityPolicy = Exclude<HelmetOptions['contentSecurityPolicy'], boolean | undefined>;

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

const HELMET_OPTIONS: HelmetOptions = {
  contentSecurityPolicy: API_CSP,
  // helmet's other defaults stay: HSTS (one year, subdomains), nosniff, Referrer-Policy
  // no-referrer, Cross-Origin-Opener-Policy and -Resource-Policy same-origin, no X-Powered-By.
  xFrameOptions: { action: 'deny' },
};

/**
 * The headers helmet sets for `options`, computed once. helmet's middleware only sets and
 * removes headers that do not depend on the request, so running it against a recording
 * response gives the exact set it would write on every response. (@fastify/helmet built a new
 * helmet instance on every request: about a fifth of the CPU time of a small request.)
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
 * The headers of every response (routes, 404s and errors) for a request URL: helmet's, computed
 * once at boot, with the Swagger UI's own CSP on the routes under `docsPath`, and `common` (the
 * same on every response) added to both.
 */
export function responseHeadersFor(
  docsPath: string,
  common: Readonly<Record<string, string>>,
): (url: string) => Readonly<Record<string, string>> {
  const apiHeaders = Object.freeze({ ...helmetHeaders(HELMET_OPTIONS), ...common });
  const docsHeaders = Object.freeze({
    ...helmetHeaders({ ...HELMET_OPTIONS, contentSecurityPolicy: DOCS_CSP }),
    ...common,
  });
  return (url) =>
    url === docsPath || url.startsWith(`${docsPath}/`) || url.startsWith(`${docsPath}?`)
      ? docsHeaders
      : apiHeaders;
}
