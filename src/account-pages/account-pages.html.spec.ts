import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  confirmEmailChangeDone,
  confirmEmailChangeForm,
  errorPage,
  invalidLinkPage,
  type Page,
  rateLimitedPage,
  resetPasswordDone,
  resetPasswordForm,
  unavailablePage,
  verifyEmailDone,
  verifyEmailForm,
} from './account-pages.html';

const SETTINGS = { mail: { productName: 'Acme "ID" <&>' } };
const HOSTILE = '"><script>alert(1)</script>';

function pages(): Array<[string, Page]> {
  return [
    ['verify form', verifyEmailForm(SETTINGS, HOSTILE)],
    ['verify done', verifyEmailDone(SETTINGS)],
    ['reset form', resetPasswordForm(SETTINGS, HOSTILE)],
    ['reset refused', resetPasswordForm(SETTINGS, HOSTILE, [HOSTILE])],
    ['reset done', resetPasswordDone(SETTINGS)],
    ['change form', confirmEmailChangeForm(SETTINGS, HOSTILE)],
    ['change done', confirmEmailChangeDone(SETTINGS)],
    ['invalid link', invalidLinkPage(SETTINGS, 'reset-password')],
    ['unavailable', unavailablePage(SETTINGS)],
    ['rate limited', rateLimitedPage(SETTINGS, 30)],
    ['error', errorPage(SETTINGS, 500, 'An unexpected error occurred.')],
  ];
}

describe('account pages (HTML)', () => {
  it('are whole documents in English, titled with the product name, with no script or inline style', () => {
    for (const [name, page] of pages()) {
      assert.ok(page.html.startsWith('<!DOCTYPE html>\n<html lang="en">'), name);
      assert.match(page.html, /<title>[^<]+ – Acme &quot;ID&quot; &lt;&amp;&gt;<\/title>/, name);
      assert.doesNotMatch(page.html, /<script|<style|\sstyle=|\son[a-z]+=/i, name);
    }
  });

  it('escapes every value, in attributes and in text', () => {
    for (const [name, page] of pages()) {
      assert.ok(!page.html.includes(HOSTILE), name);
      assert.ok(!page.html.includes('Acme "ID" <&>'), name);
    }
    assert.ok(
      verifyEmailForm(SETTINGS, HOSTILE).html.includes(
        'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"',
      ),
    );
  });

  it('answers with the status of what happened', () => {
    assert.deepEqual(
      pages().map(([name, page]) => [name, page.status]),
      [
        ['verify form', 200],
        ['verify done', 200],
        ['reset form', 200],
        ['reset refused', 400],
        ['reset done', 200],
        ['change form', 200],
        ['change done', 200],
        ['invalid link', 400],
        ['unavailable', 404],
        ['rate limited', 429],
        ['error', 500],
      ],
    );
  });

  it('labels the password fields, states the rules, and marks a refusal for assistive technology', () => {
    const refused = resetPasswordForm(SETTINGS, 'token', ['The password is too common.']).html;
    assert.match(refused, /<label for="new-password">New password<\/label>/);
    assert.match(
      refused,
      /<input id="new-password" name="newPassword" type="password" autocomplete="new-password"/,
    );
    assert.match(refused, /id="password-rules"[^>]*>Use 8 to 128 characters/);
    assert.match(refused, /<div id="password-problems" class="problems" role="alert">/);
    assert.match(
      refused,
      /aria-describedby="password-problems password-rules" aria-invalid="true"/,
    );
  });

  it('says when to retry after a rate limit', () => {
    assert.match(rateLimitedPage(SETTINGS, 1).html, /Please wait 1 second,/);
    assert.match(rateLimitedPage(SETTINGS, undefined).html, /Please wait a little,/);
  });
});
