import type { FastifyReply } from 'fastify';
import { PAGES_CONTENT_SECURITY_POLICY } from '../common/http/security-headers';
import type { Page } from './account-pages.html';

export const HTML_CONTENT_TYPE = 'text/html; charset=utf-8';

/**
 * Answers with a page: HTML under the pages' own CSP (no script, the stylesheet of this origin,
 * forms to this origin), never stored (a form carries a link's token). The other security
 * headers, `Referrer-Policy: no-referrer` among them, are every response's (app.setup.ts).
 */
export function sendPage(reply: FastifyReply, page: Page): void {
  void reply
    .status(page.status)
    .header('content-type', HTML_CONTENT_TYPE)
    .header('content-security-policy', PAGES_CONTENT_SECURITY_POLICY)
    .header('cache-control', 'no-store')
    .send(page.html);
}
