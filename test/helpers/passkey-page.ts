import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';

const BUNDLE = path.resolve('node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js');

// What a web client of the API does: fetch the options, run the ceremony with
// @simplewebauthn/browser, post the result. The API's origin comes in the query (?api=).
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>passkeys</title>
<script src="/simplewebauthn-browser.js"></script>
<script>
const api = new URLSearchParams(location.search).get('api');
window.call = async (method, path, body, token) => {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token !== undefined) headers.Authorization = 'Bearer ' + token;
  const answer = await fetch(api + '/api/v1' + path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  return { status: answer.status, body: text === '' ? null : JSON.parse(text) };
};
window.registerPasskey = async (token, currentPassword, name) => {
  const options = await call('POST', '/users/me/passkeys/registration-options', { currentPassword }, token);
  if (options.status !== 200) return options;
  const response = await SimpleWebAuthnBrowser.startRegistration({ optionsJSON: options.body });
  return call('POST', '/users/me/passkeys', name === undefined ? { response } : { response, name }, token);
};
window.assertion = async (path, body, token) => {
  const options = await call('POST', path, body, token);
  if (options.status !== 200) throw new Error(path + ' answered ' + options.status);
  return SimpleWebAuthnBrowser.startAuthentication({ optionsJSON: options.body });
};
window.signIn = async () => {
  const response = await assertion('/auth/passkey/options');
  return { response, login: await call('POST', '/auth/passkey/login', { response }) };
};
</script></head><body>passkeys</body></html>`;

export interface PasskeyPage {
  /** http://localhost:<port>: a secure context for WebAuthn (127.0.0.1 is no valid RP id). */
  origin: string;
  close(): Promise<void>;
}

/** Serves the test page and the @simplewebauthn/browser bundle on 127.0.0.1. */
export async function servePasskeyPage(): Promise<PasskeyPage> {
  const bundle = readFileSync(BUNDLE);
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname === '/simplewebauthn-browser.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    } else if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
