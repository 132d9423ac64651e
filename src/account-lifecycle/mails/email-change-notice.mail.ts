import { type MailContent, type MailSettings, maskEmail, renderMail } from './layout';

/** Sent to the old address of an email change: what was asked, and what to do if not by them. */
export function emailChangeNoticeMail(
  settings: MailSettings,
  input: { username: string; newEmail: string },
): MailContent {
  return renderMail(settings, {
    subject: 'Your email address is being changed',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `Someone signed in to your ${settings.mail.productName} account asked to change its email address to ${maskEmail(input.newEmail)}. The change applies only when it is confirmed from that address.`,
      },
      {
        paragraph:
          'If this was you, there is nothing to do here. If it wasn\u2019t, change your password now (that ends every session) and tell your administrator.',
      },
    ],
  });
}
