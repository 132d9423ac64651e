/*
 * Swagger UI plugins, run in the browser. @nestjs/swagger writes each function's source text into
 * swagger-ui-init.js (a file of this origin, which the docs CSP lets run), so every function
 * here must stand alone: no imports, no module-level names, only what the page has (fetch,
 * URLSearchParams, the SwaggerUIBundle global). The types only describe what Swagger UI hands in.
 */

/** The part of an Immutable.js value these plugins read. */
interface Immutable {
  get(key: string): unknown;
  getIn(path: string[]): unknown;
  toJS(): Record<string, unknown>;
}

interface Entries {
  entrySeq(): { toArray(): Array<[string, Immutable]> };
}

/** The part of Swagger UI's system the token refresh uses. */
interface SwaggerUiSystem {
  authSelectors: { authorized(): (Entries & Immutable) | undefined };
  authActions: {
    authorizeOauth2WithPersistOption(payload: { auth: object; token: object }): void;
  };
  errActions: {
    newAuthErr(error: { authId: string; source: string; level: string; message: string }): void;
  };
  specSelectors: {
    specJson(): Immutable;
    responseFor(path: string, method: string): Immutable | undefined;
  };
}

type Action<A> = (args: A) => unknown;
interface ExecuteArgs {
  path: string;
  method: string;
}
interface OAuth2Payload {
  auth: Record<string, unknown>;
  token: object;
}

/**
 * Renews an expired access token with the refresh token, without the user pasting anything:
 * when "Try it out" gets a 401 whose `WWW-Authenticate` says `error="invalid_token"` while an
 * OAuth2 authorization (from "Authorize", the password flow) holds a refresh token, it posts a
 * `refresh_token` grant to the flow's `refreshUrl` (the token endpoint), stores the new pair
 * (persisted when persistAuthorization is on) and executes the request again. Also keeps the
 * password typed in "Authorize" out of the stored authorization, so persistAuthorization never
 * writes it to localStorage.
 */
export function tokenRefreshPlugin(): object {
  let renewal: Promise<boolean> | undefined;

  async function renew(system: SwaggerUiSystem): Promise<boolean> {
    const authorized = system.authSelectors.authorized();
    const entry = authorized
      ?.entrySeq()
      .toArray()
      .find(
        ([, auth]) =>
          auth.getIn(['schema', 'type']) === 'oauth2' &&
          typeof auth.getIn(['token', 'refresh_token']) === 'string',
      );
    if (entry === undefined) return false;
    const [name, auth] = entry;
    const refreshUrl = system.specSelectors
      .specJson()
      .getIn(['components', 'securitySchemes', name, 'flows', 'password', 'refreshUrl']);
    const url = typeof refreshUrl === 'string' ? refreshUrl : auth.getIn(['schema', 'tokenUrl']);
    if (typeof url !== 'string') return false;
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: String(auth.getIn(['token', 'refresh_token'])),
      }),
    });
    if (!response.ok) {
      system.errActions.newAuthErr({
        authId: name,
        source: 'auth',
        level: 'error',
        message: 'The session has ended: log in again with "Authorize"',
      });
      return false;
    }
    const token = (await response.json()) as object;
    const { token: _expired, ...rest } = auth.toJS();
    system.authActions.authorizeOauth2WithPersistOption({ auth: rest, token });
    return true;
  }

  return {
    statePlugins: {
      auth: {
        wrapActions: {
          authorizeOauth2:
            (original: Action<OAuth2Payload>) =>
            ({ auth, token }: OAuth2Payload): unknown => {
              const { password: _password, clientSecret: _secret, ...kept } = auth;
              return original({ auth: kept, token });
            },
        },
      },
      spec: {
        wrapActions: {
          execute:
            (original: Action<ExecuteArgs>, system: SwaggerUiSystem) =>
            async (args: ExecuteArgs): Promise<unknown> => {
              const result = await original(args);
              const response = system.specSelectors.responseFor(args.path, args.method);
              // Swagger UI splits a header value at its commas into a list.
              const header = response?.getIn(['headers', 'www-authenticate']) as
                string | { join(separator: string): string } | undefined;
              const challenge = typeof header === 'string' ? header : header?.join(', ');
              if (
                response?.get('status') !== 401 ||
                challenge === undefined ||
                !challenge.includes('error="invalid_token"')
              ) {
                return result;
              }
              // Requests that fail together share one renewal: a refresh token works once.
              renewal ??= renew(system).finally(() => {
                renewal = undefined;
              });
              return (await renewal) ? original(args) : result;
            },
        },
      },
    },
  };
}

/**
 * Swagger UI's default plugin (the top bar's document URL), which a `plugins` option would
 * otherwise replace.
 */
export function downloadUrlPlugin(system: unknown): unknown {
  const bundle = (
    globalThis as unknown as {
      SwaggerUIBundle: { plugins: { DownloadUrl(system: unknown): unknown } };
    }
  ).SwaggerUIBundle;
  return bundle.plugins.DownloadUrl(system);
}
