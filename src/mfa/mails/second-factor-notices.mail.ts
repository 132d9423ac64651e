import {
  type MailContent,
  type MailSettings,
  renderMail,
} from '../../account-lifecycle/mails/layout';

/** The kinds of second factor a notice names, in words. */
const FACTOR_NAMES = { totp: 'an authenticator app (TOTP)', passkey: 'a passkey' } as const;

export type NoticeFactor = keyof typeof FACTOR_NAMES;

type NoticeInput = { username: string; at: Date };

// No links in these notices (nothing to phish with) and nothing secret: no code, no secret.
const IF_NOT_YOU =
  'If this wasn\u2019t you, change your password now (that ends every session) and tell your administrator.';

/** After a second factor was added: sent to the account's address. */
export function secondFactorAddedMail(
  settings: MailSettings,
  input: NoticeInput & { factor: NoticeFactor },
): MailContent {
  return renderMail(settings, {
    subject: 'A second factor was added to your account',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `${capitalised(FACTOR_NAMES[input.factor])} was added as a second factor to your ${settings.mail.productName} account at ${formatTime(input.at)}. Signing in now asks for it after your password.`,
      },
      ...(input.factor === 'totp'
        ? [
            {
              paragraph:
                'Keep the recovery codes you were shown somewhere safe: each one signs you in once if you lose the authenticator.',
            },
          ]
        : []),
      { paragraph: `If this was you, there is nothing to do. ${IF_NOT_YOU}` },
    ],
  });
}

/** After the user removed a second factor. */
export function secondFactorRemovedMail(
  settings: MailSettings,
  input: NoticeInput & { factor: NoticeFactor; othersLeft: boolean },
): MailContent {
  return renderMail(settings, {
    subject: 'A second factor was removed from your account',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `${capitalised(FACTOR_NAMES[input.factor])} was removed as a second factor from your ${settings.mail.productName} account at ${formatTime(input.at)}.`,
      },
      {
        paragraph: input.othersLeft
          ? 'Your other second factors still work.'
          : 'Your account has no second factor any more: the password alone signs in, and your recovery codes no longer work.',
      },
      { paragraph: `If this was you, there is nothing to do. ${IF_NOT_YOU}` },
    ],
  });
}

/** After an administrator (or the CLI) reset the user's second factors. */
export function secondFactorsResetMail(settings: MailSettings, input: NoticeInput): MailContent {
  return renderMail(settings, {
    subject: 'Your second factors were reset by an administrator',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `An administrator reset the second factors of your ${settings.mail.productName} account at ${formatTime(input.at)}: your authenticator app, passkeys and recovery codes no longer work, and every session was signed out.`,
      },
      {
        paragraph:
          'Sign in with your password and set up a second factor again. If you did not ask for this, tell your administrator.',
      },
    ],
  });
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** `2026-12-02 08:15 UTC`, as the other account notices write a time. */
function formatTime(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
