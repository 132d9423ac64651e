import { type MailContent, type MailSettings, renderMail } from './layout';

/** The notice after a password change or reset; no link, so it cannot be used to phish. */
export function passwordChangedMail(
  settings: MailSettings,
  input: { username: string; changedAt: Date },
): MailContent {
  return renderMail(settings, {
    subject: 'Your password was changed',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `The password of your ${settings.mail.productName} account was changed at ${formatTime(input.changedAt)}.`,
      },
      {
        paragraph:
          'If this was you, there is nothing to do. If this wasn\u2019t you, reset your password now with "Forgot password" on the sign-in page, and tell your administrator.',
      },
    ],
  });
}

/** `2026-12-02 08:15 UTC`: one unambiguous form, whatever the reader's time zone. */
function formatTime(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
