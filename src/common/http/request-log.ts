import { instanceOf } from './problem';

/**
 * What the request log records of a request: never headers (tokens, cookies) and only the path
 * of the URL, since a query string may carry a token someone put there by mistake.
 */
export function requestLogEntry(request: {
  id: string;
  method: string;
  url: string;
  ip?: string;
}): { id: string; method: string; url: string; ip?: string } {
  return { id: request.id, method: request.method, url: instanceOf(request.url), ip: request.ip };
}
