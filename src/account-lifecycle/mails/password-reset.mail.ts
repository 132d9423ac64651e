import { lifetime, type MailContent, type MailSettings, renderMail, tokenLink } from './layout';

/** The answer to "forgot password": the link that sets a new password, and its token. */
export function passwordResetMail(
  settings: MailSettings,
  input: { username: string; token: string; ttlSeconds: number },
): MailContent {
  return renderMail(settings, {
    subject: 'Reset your password',
    heading: `Hello ${input.username},`,
    blocks: [
      {
        paragraph: `Someone asked to reset the password of your ${settings.mail.productName} account. Choose a new password here:`,
      },
      {
        link: tokenLink(settings, '/account/reset-password', input.token),
        label: 'Reset password',
      },
      { code: input.token, label: 'Or paste this code where you are asked for it' },
      {
        paragraph: `The link and the code work once, for ${lifetime(input.ttlSeconds)}. Setting a new password signs you out everywhere.`,
      },
      {
        paragraph:
          'If you did not ask for this, ignore this message: your password stays as it is.',
      },
    ],
  });
}
