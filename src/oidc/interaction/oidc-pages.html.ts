import escapeHtml from 'escape-html';
import type { KoaContextWithOIDC } from 'oidc-provider';
import {
  layout,
  type Page,
  type PageSettings,
  paragraph,
} from '../../account-pages/account-pages.html';
import { HTML_CONTENT_TYPE } from '../../account-pages/send-page';
import { PAGES_CONTENT_SECURITY_POLICY } from '../../common/http/security-headers';

/** What of AppConfig the pages read (AppConfig itself fits). */
export interface OidcPageSettings extends PageSettings {
  publicUrl: string;
}

/**
 * The second factors the sign-in page takes: codes, and a passkey through the page's one
 * script of this origin (passkey.js, with @simplewebauthn/browser).
 */
export type PageFactor = 'totp' | 'recovery_code' | 'passkey';

/** Where the pages' scripts are served (InteractionController). */
export const PAGE_SCRIPTS = {
  webauthn: 'assets/webauthn.js',
  passkey: 'assets/passkey.js',
} as const;

const SCOPE_TEXT: Readonly<Record<string, string>> = {
  openid: 'Know who you are (your account id)',
  profile: 'See your username',
  email: 'See your email address and whether it is verified',
  roles: 'See your roles',
  offline_access: 'Stay signed in while you are away',
};

/** Paths below PUBLIC_URL (which may have a path of its own, behind a proxy). */
function pathOf(settings: OidcPageSettings, path: string): string {
  return `${new URL(settings.publicUrl).pathname.replace(/\/+$/, '')}${path}`;
}

function page(settings: OidcPageSettings, status: number, heading: string, body: string): Page {
  return {
    status,
    html: layout(settings, heading, body, pathOf(settings, '/account/style.css')),
  };
}

function problem(text: string | undefined): string {
  return text === undefined
    ? ''
    : `<div class="problems" role="alert"><p>${escapeHtml(text)}</p></div>\n`;
}

function action(settings: OidcPageSettings, uid: string, step: string): string {
  return escapeHtml(pathOf(settings, `/oidc/interaction/${encodeURIComponent(uid)}/${step}`));
}

function abortForm(settings: OidcPageSettings, uid: string, label: string): string {
  return `<form method="post" action="${action(settings, uid, 'abort')}">
<button type="submit" class="secondary">${escapeHtml(label)}</button>
</form>`;
}

/** The sign-in form of the code flow: the same accounts and rules as POST /auth/login. */
export function loginPage(
  settings: OidcPageSettings,
  input: { uid: string; clientName: string; username?: string; problem?: string; status?: number },
): Page {
  const invalid = input.problem !== undefined ? ' aria-invalid="true"' : '';
  return page(
    settings,
    input.status ?? 200,
    'Sign in',
    `${problem(input.problem)}${paragraph(`to continue to ${input.clientName}`)}
<form method="post" action="${action(settings, input.uid, 'login')}">
<label for="username">Username or email</label>
<input id="username" name="username" type="text" autocomplete="username" required maxlength="254" value="${escapeHtml(input.username ?? '')}"${invalid}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${invalid}>
<button type="submit">Sign in</button>
</form>
${abortForm(settings, input.uid, 'Cancel')}`,
  );
}

/** The second step, for a user with a second factor: an authenticator code or a recovery code. */
export function mfaPage(
  settings: OidcPageSettings,
  input: {
    uid: string;
    mfaToken: string;
    factors: readonly PageFactor[];
    problem?: string;
    status?: number;
  },
): Page {
  const codes = input.factors.filter((factor) => factor !== 'passkey');
  const hidden = `<input type="hidden" name="mfa_token" value="${escapeHtml(input.mfaToken)}">
<input type="hidden" name="factors" value="${input.factors.join(',')}">`;
  const choices = codes
    .map(
      (factor, index) =>
        `<label class="choice"><input type="radio" name="method" value="${factor}"${index === 0 ? ' checked' : ''}> ${
          factor === 'totp' ? 'Code from my authenticator app' : 'One of my recovery codes'
        }</label>`,
    )
    .join('\n');
  const codeForm =
    codes.length === 0
      ? ''
      : `<form method="post" action="${action(settings, input.uid, 'mfa')}">
${hidden}
<fieldset>
<legend>Second step</legend>
${choices}
</fieldset>
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="text" autocomplete="one-time-code" required maxlength="64"${input.problem === undefined ? '' : ' aria-invalid="true"'}>
<button type="submit">Continue</button>
</form>
`;
  // The passkey button works only with script, so the script shows it.
  const passkeyForm = input.factors.includes('passkey')
    ? `<form method="post" action="${action(settings, input.uid, 'mfa')}" id="passkey-form" data-options="${escapeHtml(pathOf(settings, '/api/v1/auth/mfa/passkey-options'))}">
${hidden}
<input type="hidden" name="method" value="passkey">
<input type="hidden" name="response" value="">
<button type="button" id="use-passkey" hidden>Use a passkey</button>
<p id="passkey-problem" class="problems" role="alert" hidden>The passkey did not answer. Try again${codes.length > 0 ? ' or use a code' : ''}.</p>
<noscript><p>Signing in with a passkey needs JavaScript${codes.length > 0 ? '; use a code instead' : ''}.</p></noscript>
</form>
<script src="${scriptPath(settings, PAGE_SCRIPTS.webauthn)}"></script>
<script src="${scriptPath(settings, PAGE_SCRIPTS.passkey)}"></script>
`
    : '';
  return page(
    settings,
    input.status ?? 200,
    'Confirm it is you',
    `${problem(input.problem)}${passkeyForm}${codeForm}${abortForm(settings, input.uid, 'Cancel')}`,
  );
}

function scriptPath(settings: OidcPageSettings, script: string): string {
  return escapeHtml(pathOf(settings, `/oidc/interaction/${script}`));
}

/**
 * The passkey step of the page (served as passkey.js, under the pages' CSP `script-src 'self'`):
 * the options for the form's mfa_token from the JSON API, the ceremony with
 * @simplewebauthn/browser, and the assertion posted with the form.
 */
export const PASSKEY_SCRIPT = `(() => {
  const form = document.getElementById('passkey-form');
  if (!form) return;
  const button = document.getElementById('use-passkey');
  const problem = document.getElementById('passkey-problem');
  button.hidden = false;
  button.addEventListener('click', async () => {
    button.disabled = true;
    problem.hidden = true;
    try {
      const answer = await fetch(form.dataset.options, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mfa_token: form.elements.mfa_token.value }),
      });
      if (!answer.ok) throw new Error('options refused: ' + answer.status);
      const response = await SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: await answer.json() });
      form.elements.response.value = JSON.stringify(response);
      form.submit();
    } catch (error) {
      button.disabled = false;
      problem.hidden = false;
    }
  });
})();
`;

/** What a client that is not first-party asks for; the user allows or denies it. */
export function consentPage(
  settings: OidcPageSettings,
  input: { uid: string; clientName: string; scopes: readonly string[]; api: boolean },
): Page {
  const items = input.scopes
    .map((scope) => SCOPE_TEXT[scope] ?? scope)
    // A token for the API is accepted by its guard as the user's own, roles and all.
    .concat(
      input.api
        ? [
            `Use the ${settings.mail.productName} API as you, with your roles: everything you can do there`,
          ]
        : [],
    )
    .map((text) => `<li>${escapeHtml(text)}</li>`)
    .join('\n');
  return page(
    settings,
    200,
    `Allow ${input.clientName}?`,
    `${paragraph(`${input.clientName} asks to:`)}
<ul>
${items}
</ul>
<form method="post" action="${action(settings, input.uid, 'consent')}">
<button type="submit">Allow</button>
</form>
${abortForm(settings, input.uid, 'Deny')}`,
  );
}

/** An error of the protocol (bad client, bad redirect URI, expired sign-in): never details. */
export function errorPage(
  settings: OidcPageSettings,
  status: number,
  out: { error: string; error_description?: string },
): Page {
  return page(
    settings,
    status >= 400 ? status : 400,
    'Sign-in cannot continue',
    `${paragraph(out.error_description ?? 'The request is not valid.')}
<p class="hint">Error: ${escapeHtml(out.error)}. Go back to the application and start again.</p>`,
  );
}

/** The RP-initiated logout question; `form` is oidc-provider's own (its CSRF token inside). */
export function logoutPage(settings: OidcPageSettings, form: string): Page {
  return page(
    settings,
    200,
    'Sign out?',
    `${paragraph('Do you want to sign out of this service?')}
${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
  );
}

export function loggedOutPage(settings: OidcPageSettings): Page {
  return page(settings, 200, 'You are signed out', paragraph('You can close this page.'));
}

/**
 * The pages' CSP, but forms may also lead to the client's origins: Chromium applies
 * `form-action` to the redirects after a submission, and a sign-in ends in one to the app.
 */
export function pagesPolicyFor(redirectUris: readonly string[]): string {
  const sources = new Set<string>();
  for (const uri of redirectUris) {
    try {
      const url = new URL(uri);
      sources.add(
        url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol,
      );
    } catch {
      // Not a URL: the client's metadata validation refused it already.
    }
  }
  // The passkey step's scripts and its one fetch are of this origin only.
  return `${PAGES_CONTENT_SECURITY_POLICY.replace(
    "form-action 'self'",
    ["form-action 'self'", ...sources].join(' '),
  )};script-src 'self';connect-src 'self'`;
}

/** Answers a provider request with one of our pages (renderError, logoutSource...). */
export function sendProviderPage(ctx: KoaContextWithOIDC, rendered: Page): void {
  const client = ctx.oidc?.client;
  ctx.status = rendered.status;
  ctx.set('content-type', HTML_CONTENT_TYPE);
  ctx.set('cache-control', 'no-store');
  ctx.set(
    'content-security-policy',
    pagesPolicyFor([...(client?.redirectUris ?? []), ...(client?.postLogoutRedirectUris ?? [])]),
  );
  ctx.body = rendered.html;
}
