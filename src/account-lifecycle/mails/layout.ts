import escapeHtml from 'escape-html';

/** A rendered mail: the subject, a plain-text part and an HTML part saying the same. */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/** What of AppConfig the templates read (AppConfig itself fits). */
export interface MailSettings {
  publicUrl: string;
  mail: { productName: string };
}

/** One piece of a mail's body, rendered as plain text in one part and escaped HTML in the other. */
export type MailBlock =
  { paragraph: string } | { link: string; label: string } | { code: string; label: string };

/**
 * The one layout of every account mail: a heading, the blocks, and a footer naming the product.
 * Every value reaches the HTML through escape-html, attributes included; the text part is plain.
 */
export function renderMail(
  settings: MailSettings,
  mail: { subject: string; heading: string; blocks: MailBlock[] },
): MailContent {
  const product = settings.mail.productName;
  const footer = `This message was sent by ${product}. You cannot reply to it.`;
  const text = [
    mail.heading,
    ...mail.blocks.map((block) => {
      if ('paragraph' in block) return block.paragraph;
      if ('link' in block) return `${block.label}:\n${block.link}`;
      return `${block.label}:\n\n    ${block.code}`;
    }),
    `-- \n${footer}`,
  ].join('\n\n');
  const body = mail.blocks
    .map((block) => {
      if ('paragraph' in block) return `<p>${escapeHtml(block.paragraph)}</p>`;
      if ('link' in block) {
        return (
          `<p><a href="${escapeHtml(block.link)}" style="display:inline-block;padding:10px 16px;` +
          `background:#1a56db;color:#ffffff;text-decoration:none;border-radius:4px">` +
          `${escapeHtml(block.label)}</a></p>\n` +
          `<p style="font-size:13px;color:#555555">${escapeHtml(block.link)}</p>`
        );
      }
      return (
        `<p>${escapeHtml(block.label)}:</p>\n` +
        `<p><code style="font-size:15px;padding:4px 6px;background:#f2f2f2">${escapeHtml(block.code)}</code></p>`
      );
    })
    .join('\n');
  const html = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${escapeHtml(mail.subject)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;font-size:15px;line-height:1.5;color:#222222">
<h1 style="font-size:20px">${escapeHtml(mail.heading)}</h1>
${body}
<hr style="border:none;border-top:1px solid #dddddd">
<p style="font-size:12px;color:#777777">${escapeHtml(footer)}</p>
</body>
</html>
`;
  return { subject: `${product}: ${mail.subject}`, text: `${text}\n`, html };
}

/** `${publicUrl}${path}?token=...`, the token URL-encoded (base64url needs none, but still). */
export function tokenLink(settings: MailSettings, path: string, token: string): string {
  return `${settings.publicUrl}${path}?token=${encodeURIComponent(token)}`;
}

/** A lifetime in words: "24 hours", "30 minutes", "1 hour 30 minutes". */
export function lifetime(seconds: number): string {
  const minutes = Math.max(1, Math.round(seconds / 60));
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const parts: string[] = [];
  if (hours > 0) parts.push(`${hours} ${hours === 1 ? 'hour' : 'hours'}`);
  if (rest > 0) parts.push(`${rest} ${rest === 1 ? 'minute' : 'minutes'}`);
  return parts.join(' ');
}

/** An address as a notice may show it: `a***@example.com`. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}
