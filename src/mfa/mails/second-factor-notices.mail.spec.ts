import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  secondFactorAddedMail,
  secondFactorRemovedMail,
  secondFactorsResetMail,
} from './second-factor-notices.mail';

const settings = { publicUrl: 'https://id.example.com', mail: { productName: 'Acme <ID>' } };
const hostile = '<script>alert("x")</script>&\'';
const at = new Date('2026-12-02T08:15:30Z');

function all(username: string) {
  return {
    added: secondFactorAddedMail(settings, { username, at, factor: 'totp' }),
    removed: secondFactorRemovedMail(settings, { username, at, factor: 'totp', othersLeft: false }),
    reset: secondFactorsResetMail(settings, { username, at }),
  };
}

describe('second-factor notices', () => {
  it('escapes every value in the HTML part, the product name included', () => {
    for (const [name, mail] of Object.entries(all(hostile))) {
      assert.doesNotMatch(mail.html, /<script>/, name);
      assert.doesNotMatch(mail.html, /Acme <ID>/, name);
      assert.match(
        mail.html,
        /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;&amp;&#39;/,
        name,
      );
      assert.ok(mail.text.includes(hostile), name);
      assert.ok(mail.subject.startsWith('Acme <ID>: '), name);
    }
  });

  it('say when, carry no link, and say the same in both parts', () => {
    for (const [name, mail] of Object.entries(all('alice'))) {
      assert.match(mail.text, /2026-12-02 08:15 UTC/, name);
      assert.match(mail.html, /2026-12-02 08:15 UTC/, name);
      assert.doesNotMatch(mail.text, /https?:\/\//, name);
      assert.doesNotMatch(mail.html, /<a /, name);
    }
    assert.match(all('alice').removed.text, /no second factor any more/);
    assert.match(
      secondFactorRemovedMail(settings, { username: 'a', at, factor: 'totp', othersLeft: true })
        .text,
      /other second factors still work/,
    );
  });
});
