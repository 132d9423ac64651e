import { lifetime, type MailContent, type MailSettings, renderMail, tokenLink } from './layout';

/** Sent to the new address of an email change: the link that applies the change. */
export function emailChangeConfirmationMail(
  settings: MailSettings,
  input: { username: string; newEmail: string; token: string; ttlSeconds: number },
): MailContent {
  return renderMail(settings, {
    subject: 'Confirm your new email address',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `You asked to use ${input.newEmail} for your ${settings.mail.productName} account. The change applies once you confirm it:`,
      },
      {
        link: tokenLink(settings, '/account/confirm-email-change', input.token),
        label: 'Confirm new address',
      },
      { code: input.token, label: 'Or paste this code where you are asked for it' },
      {
        paragraph: `The link and the code work once, for ${lifetime(input.ttlSeconds)}. If you did not ask for this, ignore this message: the account keeps its current address.`,
      },
    ],
  });
}
