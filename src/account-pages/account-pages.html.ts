import escapeHtml from 'escape-html';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '../passwords/password-policy';

/** What of AppConfig the pages read (AppConfig itself fits). */
export interface PageSettings {
  mail: { productName: string };
}

/** A rendered page and the status it is answered with. */
export interface Page {
  status: number;
  html: string;
}

/** The three pages mailed links open, by their path under /account. */
export type AccountFlow = 'verify-email' | 'reset-password' | 'confirm-email-change';

interface FlowText {
  /** The form page's heading and title. */
  title: string;
  /** What to do when the link no longer works. */
  nextStep: string;
}

const FLOWS: Record<AccountFlow, FlowText> = {
  'verify-email': {
    title: 'Verify your email address',
    nextStep:
      'Sign in to your account and ask for a new verification email, then use the link in the newest message.',
  },
  'reset-password': {
    title: 'Choose a new password',
    nextStep:
      'Ask for a new password reset email ("Forgot password"), then use the link in the newest message.',
  },
  'confirm-email-change': {
    title: 'Confirm your new email address',
    nextStep:
      'Sign in to your account and change your email address again, then use the link in the newest message.',
  },
};

/**
 * The one layout of every page: the product's name, a heading and the body (already HTML).
 * Every value that is not markup reaches it through escape-html. The stylesheet and the forms'
 * actions are relative, so the pages also work behind a proxy that serves them under a path.
 */
export function layout(
  settings: PageSettings,
  heading: string,
  body: string,
  stylesheet = 'style.css',
): string {
  const product = escapeHtml(settings.mail.productName);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<title>${escapeHtml(heading)} – ${product}</title>
<link rel="stylesheet" href="${escapeHtml(stylesheet)}">
</head>
<body>
<main>
<p class="product">${product}</p>
<h1>${escapeHtml(heading)}</h1>
${body}
</main>
</body>
</html>
`;
}

export const paragraph = (text: string): string => `<p>${escapeHtml(text)}</p>`;

function hiddenToken(token: string): string {
  return `<input type="hidden" name="token" value="${escapeHtml(token)}">`;
}

/** A form of one button: the link's token travels in the POST body, never spent by a GET. */
function buttonForm(flow: AccountFlow, token: string, button: string): string {
  return `<form method="post" action="${flow}">
${hiddenToken(token)}
<button type="submit">${escapeHtml(button)}</button>
</form>`;
}

export function verifyEmailForm(settings: PageSettings, token: string): Page {
  return {
    status: 200,
    html: layout(
      settings,
      FLOWS['verify-email'].title,
      `${paragraph(`Confirm that this email address belongs to your ${settings.mail.productName} account.`)}
${buttonForm('verify-email', token, 'Verify my email')}`,
    ),
  };
}

export function verifyEmailDone(settings: PageSettings): Page {
  return {
    status: 200,
    html: layout(
      settings,
      'Your email address is verified',
      paragraph('Thank you. You can close this page and continue where you were.'),
    ),
  };
}

export function confirmEmailChangeForm(settings: PageSettings, token: string): Page {
  return {
    status: 200,
    html: layout(
      settings,
      FLOWS['confirm-email-change'].title,
      `${paragraph(`Make this address the email address of your ${settings.mail.productName} account.`)}
${buttonForm('confirm-email-change', token, 'Confirm my new email')}`,
    ),
  };
}

export function confirmEmailChangeDone(settings: PageSettings): Page {
  return {
    status: 200,
    html: layout(
      settings,
      'Your email address is changed',
      paragraph(
        'From now on, sign in with the new address; mails to your account go to it. Links mailed to the old address no longer work.',
      ),
    ),
  };
}

const PASSWORD_RULES =
  `Use ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters; any characters, spaces too. ` +
  'It must not be a commonly used password, nor your username or email address.';

/**
 * The new-password form; with `problems` (the policy's refusal, or two different entries) it is
 * the same form again, answered 400, saying what to change.
 */
export function resetPasswordForm(
  settings: PageSettings,
  token: string,
  problems: readonly string[] = [],
): Page {
  const invalid = problems.length > 0;
  const describedBy = invalid ? 'password-problems password-rules' : 'password-rules';
  const alert = invalid
    ? `<div id="password-problems" class="problems" role="alert">
<p>The password was not changed:</p>
<ul>
${problems.map((problem) => `<li>${escapeHtml(problem)}</li>`).join('\n')}
</ul>
</div>
`
    : '';
  const state = invalid ? ' aria-invalid="true"' : '';
  return {
    status: invalid ? 400 : 200,
    html: layout(
      settings,
      FLOWS['reset-password'].title,
      `${alert}<form method="post" action="reset-password">
${hiddenToken(token)}
<p id="password-rules" class="hint">${escapeHtml(PASSWORD_RULES)}</p>
<label for="new-password">New password</label>
<input id="new-password" name="newPassword" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN_LENGTH}" aria-describedby="${describedBy}"${state}>
<label for="new-password-repeat">Repeat the new password</label>
<input id="new-password-repeat" name="newPasswordRepeat" type="password" autocomplete="new-password" required minlength="${PASSWORD_MIN_LENGTH}"${state}>
<button type="submit">Set the new password</button>
</form>`,
    ),
  };
}

export function resetPasswordDone(settings: PageSettings): Page {
  return {
    status: 200,
    html: layout(
      settings,
      'Your password is changed',
      paragraph(
        'Every session of your account was signed out, on every device: sign in again with the new password.',
      ),
    ),
  };
}

/** A link that is unknown, used, expired, replaced by a newer one, or has no token at all. */
export function invalidLinkPage(settings: PageSettings, flow: AccountFlow): Page {
  return {
    status: 400,
    html: layout(
      settings,
      'This link is invalid or expired',
      `${paragraph('A link from our emails works once, for a limited time, and only the newest one of its kind works.')}
${paragraph(FLOWS[flow].nextStep)}`,
    ),
  };
}

/** The flow is switched off on this service (a `feature_disabled` refusal). */
export function unavailablePage(settings: PageSettings): Page {
  return {
    status: 404,
    html: layout(
      settings,
      'This page is not available',
      paragraph(`${settings.mail.productName} does not offer this here.`),
    ),
  };
}

export function rateLimitedPage(
  settings: PageSettings,
  retryAfterSeconds: number | undefined,
): Page {
  const wait =
    retryAfterSeconds === undefined
      ? 'Please wait a little'
      : `Please wait ${retryAfterSeconds} ${retryAfterSeconds === 1 ? 'second' : 'seconds'}`;
  return {
    status: 429,
    html: layout(
      settings,
      'Too many attempts',
      paragraph(`There were too many attempts from your network. ${wait}, then try again.`),
    ),
  };
}

/** Whatever else fails: the status and a sentence, nothing from the request. */
export function errorPage(settings: PageSettings, status: number, message: string): Page {
  return {
    status,
    html: layout(settings, 'Something went wrong', paragraph(message)),
  };
}

/**
 * The pages' only styling, served at /account/style.css (the CSP allows styles from this
 * origin only: no inline style).
 */
export const STYLESHEET = `:root { color-scheme: light dark; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 1rem; line-height: 1.5; background: Canvas; color: CanvasText; }
main { max-width: 32rem; margin: 3rem auto; padding: 0 1.25rem; }
.product { font-weight: 600; opacity: 0.75; margin: 0 0 0.5rem; }
h1 { font-size: 1.5rem; margin: 0 0 1rem; }
form { display: flex; flex-direction: column; gap: 0.5rem; margin-top: 1.5rem; }
label { font-weight: 600; margin-top: 0.5rem; }
input { font: inherit; padding: 0.5rem 0.625rem; border: 1px solid GrayText; border-radius: 4px; }
input[aria-invalid="true"] { border-color: #c81e1e; }
button { font: inherit; margin-top: 1rem; padding: 0.625rem 1rem; border: 0; border-radius: 4px;
  background: #1a56db; color: #ffffff; cursor: pointer; align-self: flex-start; }
button:focus-visible, input:focus-visible { outline: 3px solid #76a9fa; outline-offset: 2px; }
.hint { font-size: 0.9375rem; opacity: 0.85; margin: 0; }
.problems { border-left: 4px solid #c81e1e; padding: 0.25rem 1rem; margin: 1rem 0; }
`;
