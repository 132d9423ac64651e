import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

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

/** The chained fields of an event in their fixed order (the legacy hash and the MAC alike). */
function chainedFields(event: HashedAuditFields): unknown[] {
  return [
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
  ];
}

/**
 * SHA-256 (hex) over a JSON array of the fields in a fixed order. An array of JSON values is
 * unambiguous (no separator can be forged inside a field), and anyone can recompute it.
 */
export function auditEventHash(event: HashedAuditFields): string {
  return createHash('sha256')
    .update(JSON.stringify(chainedFields(event)), 'utf8')
    .digest('hex');
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

/** What a keyed link covers: the fields of {@link auditEventHash} and the id of the key. */
export interface MacAuditFields extends HashedAuditFields {
  keyId: string;
}

/**
 * HMAC-SHA256 (hex) with the audit key over the same JSON array as {@link auditEventHash}, with
 * the key id appended. Without the key (never stored in the database) nobody can recompute it,
 * so a writer of the table can no longer rewrite a row and re-chain everything after it.
 */
export function auditEventMac(key: Buffer, event: MacAuditFields): string {
  const canonical = JSON.stringify([...chainedFields(event), event.keyId]);
  return createHmac('sha256', key).update(canonical, 'utf8').digest('hex');
}

/** What a retention checkpoint states: the pruned prefix ends at `throughSequence`. */
export interface CheckpointFields {
  throughSequence: number;
  /** The hash (MAC) of the last pruned event: the next event's prev_hash. */
  throughHash: string;
  /** The key id of the last pruned event; null when it was a legacy (unkeyed) event. */
  throughKeyId: string | null;
  /** Events pruned so far, over every pass. */
  prunedCount: number;
  createdAt: Date;
  keyId: string;
}

/** HMAC-SHA256 (hex) of a checkpoint; a distinct first member keeps it apart from event MACs. */
export function checkpointMac(key: Buffer, checkpoint: CheckpointFields): string {
  const canonical = JSON.stringify([
    'audit.checkpoint',
    checkpoint.throughSequence,
    checkpoint.throughHash,
    checkpoint.throughKeyId,
    checkpoint.prunedCount,
    checkpoint.createdAt.toISOString(),
    checkpoint.keyId,
  ]);
  return createHmac('sha256', key).update(canonical, 'utf8').digest('hex');
}

/**
 * A short public name of a key (16 hex digits of an HMAC of a fixed text), stored with each
 * event so verification picks the right key after a rotation. It reveals nothing of the key.
 */
export function auditKeyId(key: Buffer): string {
  return createHmac('sha256', key)
    .update('identity-audit-key-id', 'utf8')
    .digest('hex')
    .slice(0, 16);
}

/** Constant-time comparison of two hex MACs. */
export function sameMac(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
