import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emailChangeConfirmationMail } from './email-change-confirmation.mail';
import { emailChangeNoticeMail } from './email-change-notice.mail';
import { emailVerificationMail } from './email-verification.mail';
import { lifetime, maskEmail, type MailContent } from './layout';
import { passwordChangedMail } from './password-changed.mail';
import { passwordResetMail } from './password-reset.mail';

const settings = { publicUrl: 'https://id.example.com', mail: { productName: 'Acme <ID>' } };
const token = 'A'.repeat(21) + '_-' + 'b'.repeat(20);
const hostile = '<script>alert("x")</script>&\'';

function all(username: string): Record<string, MailContent> {
  return {
    verification: emailVerificationMail(settings, { username, token, ttlSeconds: 86_400 }),
    reset: passwordResetMail(settings, { username, token, ttlSeconds: 1800 }),
    changed: passwordChangedMail(settings, {
      username,
      changedAt: new Date('2026-12-02T08:15:30Z'),
    }),
    confirmation: emailChangeConfirmationMail(settings, {
      username,
      newEmail: 'new@example.org',
      token,
      ttlSeconds: 3600,
    }),
    notice: emailChangeNoticeMail(settings, { username, newEmail: 'new@example.org' }),
  };
}

describe('account mails', () => {
  it('escapes every value in the HTML part, the product name included', () => {
    for (const [name, mail] of Object.entries(all(hostile))) {
      assert.doesNotMatch(mail.html, /<script>/, name);
      assert.doesNotMatch(mail.html, /Acme <ID>/, name);
      assert.match(
        mail.html,
        /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&amp;&#39;/,
        name,
      );
      assert.match(mail.html, /Acme &lt;ID&gt;/, name);
      // The text part is plain: the name as typed.
      assert.ok(mail.text.includes(hostile), name);
      assert.ok(mail.subject.startsWith('Acme <ID>: '), name);
    }
  });

  it('links each token mail to its page under PUBLIC_URL and shows the token to paste', () => {
    const mails = all('alice');
    const links = {
      verification: `https://id.example.com/account/verify-email?token=${token}`,
      reset: `https://id.example.com/account/reset-password?token=${token}`,
      confirmation: `https://id.example.com/account/confirm-email-change?token=${token}`,
    };
    for (const [name, link] of Object.entries(links)) {
      const mail = mails[name];
      assert.ok(mail.text.includes(link), name);
      assert.ok(mail.html.includes(`href="${link}"`), name);
      assert.ok(mail.text.includes(`    ${token}`), name);
    }
    assert.match(mails.verification.text, /24 hours/);
    assert.match(mails.reset.text, /30 minutes/);
    assert.match(mails.confirmation.text, /1 hour\b/);
  });

  it('gives the notices no link, and masks the new address in the one to the old', () => {
    const { changed, notice } = all('alice');
    for (const mail of [changed, notice]) {
      assert.doesNotMatch(mail.html, /href=/);
      assert.doesNotMatch(mail.text, /https?:\/\//);
    }
    assert.match(changed.text, /2026-12-02 08:15 UTC/);
    assert.match(changed.text, /wasn\u2019t you, reset your password/);
    assert.match(notice.text, /n\*\*\*@example\.org/);
    assert.doesNotMatch(notice.text, /new@example\.org/);
  });

  it('words lifetimes and masks addresses', () => {
    assert.equal(lifetime(86_400), '24 hours');
    assert.equal(lifetime(5400), '1 hour 30 minutes');
    assert.equal(lifetime(60), '1 minute');
    assert.equal(maskEmail('alice@example.com'), 'a***@example.com');
    assert.equal(maskEmail('broken'), '***');
  });
});
