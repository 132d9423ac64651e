import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Objects and arrays nested deeper than this are refused before the body is parsed. */
export const MAX_JSON_DEPTH = 32;

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * Whether a JSON text nests objects and arrays more than `maxDepth` levels deep. One pass over
 * the bytes, skipping strings; UTF-8 multi-byte sequences never contain these ASCII bytes. On
 * malformed input the answer may be wrong, and the parser refuses that input anyway.
 */
export function exceedsJsonDepth(body: Buffer, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < body.length; index += 1) {
    const byte = body[index];
    if (inString) {
      if (byte === BACKSLASH) index += 1;
      else if (byte === QUOTE) inString = false;
    } else if (byte === QUOTE) {
      inString = true;
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      depth += 1;
      if (depth > maxDepth) return true;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth -= 1;
    }
  }
  return false;
}

export const JSON_TOO_DEEP = 'JSON_TOO_DEEP';

/** Raised for a body nested deeper than {@link MAX_JSON_DEPTH}; the filter answers 400. */
export class JsonTooDeepError extends Error {
  readonly statusCode = 400;
  readonly code = JSON_TOO_DEEP;

  constructor() {
    super('The JSON body is nested too deeply');
    this.name = 'JsonTooDeepError';
  }
}

type Done = (error: Error | null, body?: unknown) => void;

/**
 * The `application/json` parser: Fastify's own (secure-json-parse, refusing `__proto__` and
 * `constructor.prototype` keys at any depth), behind a depth check, so a deeply nested body
 * costs one linear scan and never reaches the parser's recursion or class-validator's.
 */
export function depthLimitedJsonParser(
  fastify: FastifyInstance,
  maxDepth = MAX_JSON_DEPTH,
): (request: FastifyRequest, body: Buffer, done: Done) => void {
  // Fastify's parser calls `done` (its promise-returning variant exists only in the types).
  const parse = fastify.getDefaultJsonParser('error', 'error') as (
    request: FastifyRequest,
    body: string,
    done: Done,
  ) => void;
  return (request, body, done) => {
    if (exceedsJsonDepth(body, maxDepth)) {
      done(new JsonTooDeepError());
      return;
    }
    parse(request, body.toString('utf8'), done);
  };
}
