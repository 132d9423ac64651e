import { lifetime, type MailContent, type MailSettings, renderMail, tokenLink } from './layout';

/** Registration's (and resend's) mail: the link that verifies the address, and its token. */
export function emailVerificationMail(
  settings: MailSettings,
  input: { username: string; token: string; ttlSeconds: number },
): MailContent {
  return renderMail(settings, {
    subject: 'Verify your email address',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `Please confirm that this address belongs to your ${settings.mail.productName} account.`,
      },
      {
        link: tokenLink(settings, '/account/verify-email', input.token),
        label: 'Verify email address',
      },
      { code: input.token, label: 'Or paste this code where you are asked for it' },
      {
        paragraph: `The link and the code work once, for ${lifetime(input.ttlSeconds)}. If you did not create this account, you can ignore this message.`,
      },
    ],
  });
}
