import { createHash } from 'node:crypto';

/** The `prev_hash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** What the hash covers: every column of an event except the hash itself. */
export interface HashedAuditFields {
  sequence: number;
  id: string;
  occurredAt: Date;
  type: string;
  actorId: string | null;
  subjectUserId: string | null;
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
  /** Canonical JSON, as stored. */
  details: string;
  prevHash: string;
}

/**
 * SHA-256 (hex) over a JSON array of the fields in a fixed order. An array of JSON values is
 * unambiguous (no separator can be forged inside a field), and anyone can recompute it.
 */
export function auditEventHash(event: HashedAuditFields): string {
  const canonical = JSON.stringify([
    event.sequence,
    event.id,
    event.occurredAt.toISOString(),
    event.type,
    event.actorId,
    event.subjectUserId,
    event.ip,
    event.userAgent,
    event.requestId,
    event.details,
    event.prevHash,
  ]);
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/**
 * JSON with object keys sorted (by UTF-16 code units, recursively) and no whitespace, so one
 * value always has one serialisation. `undefined` members are left out, as JSON.stringify does.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // Numbers, strings and booleans as JSON writes them; non-finite numbers become null.
    return JSON.stringify(value ?? null) ?? 'null';
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return canonicalJson(withToJson.toJSON());
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => canonicalJson(item === undefined ? null : item)).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .filter((key) => record[key] !== undefined && typeof record[key] !== 'function')
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(',')}}`;
}

const SECRET_KEY = /password|token|secret/i;
// `tokenId`, `session_id`: the name of a row, not the credential.
const IDENTIFIER_KEY = /(?:Id|_id|ID)$/;

/**
 * A copy of `details` without any member (at any depth) whose name suggests a secret; the paths
 * of the members left out are pushed to `dropped`.
 */
export function withoutSecrets(value: unknown, dropped: string[] = [], path = ''): unknown {
  if (Array.isArray(value)) {
    return value.map((item, index) => withoutSecrets(item, dropped, `${path}[${index}]`));
  }
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const kept: Array<[string, unknown]> = [];
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    const memberPath = path === '' ? key : `${path}.${key}`;
    if (SECRET_KEY.test(key) && !IDENTIFIER_KEY.test(key)) dropped.push(memberPath);
    else kept.push([key, withoutSecrets(member, dropped, memberPath)]);
  }
  return Object.fromEntries(kept);
}
