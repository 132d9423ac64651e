import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, DatabaseError, Pool } from 'pg';
import { QueryFailedError } from 'typeorm';
import type { ArgumentsHost } from '@nestjs/common';
import { ProblemDetailsFilter } from '../http/problem-details.filter';
import { DomainError } from './domain-error';
import { isInfrastructureFailure } from './infrastructure-failure';

// better-sqlite3 ships no types; TypeORM loads it the same way.
interface SqliteDatabase {
  exec(sql: string): void;
  close(): void;
}
const sqlite = createRequire(__filename)('better-sqlite3') as {
  new (file: string, options?: { timeout?: number }): SqliteDatabase;
  SqliteError: new (message: string, code: string) => Error;
};
const { SqliteError } = sqlite;
const Database = sqlite;

/** As TypeORM hands a driver's error to the services. */
function wrapped(error: Error): QueryFailedError {
  return new QueryFailedError('SELECT secret FROM users WHERE id = $1', ['x'], error);
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function postgresError(code: string): DatabaseError {
  const error = new DatabaseError('from the server', 0, 'error');
  error.code = code;
  return error;
}

describe('isInfrastructureFailure', () => {
  // Servers on loopback that misbehave as a failing PostgreSQL would.
  const sockets = new Set<Socket>();
  let silent: Server;
  let hangingUp: Server;
  before(async () => {
    silent = createServer((socket) => sockets.add(socket));
    hangingUp = createServer((socket) => socket.destroy());
    await Promise.all(
      [silent, hangingUp].map(
        (server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
      ),
    );
  });
  after(async () => {
    for (const socket of sockets) socket.destroy();
    await Promise.all(
      [silent, hangingUp].map((server) => new Promise((resolve) => server.close(resolve))),
    );
  });
  const portOf = (server: Server) => (server.address() as AddressInfo).port;

  it('recognises a SQLite file locked past the busy timeout (real better-sqlite3 error)', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'busy-'));
    const file = path.join(directory, 'db.sqlite');
    const holder = new Database(file);
    const other = new Database(file, { timeout: 0 });
    try {
      holder.exec('CREATE TABLE t (x integer)');
      holder.exec('BEGIN EXCLUSIVE');
      let busy: Error | undefined;
      try {
        other.exec('INSERT INTO t VALUES (1)');
      } catch (error) {
        busy = error as Error;
      }
      assert.ok(busy instanceof SqliteError);
      assert.equal((busy as Error & { code?: string }).code, 'SQLITE_BUSY');
      assert.equal(isInfrastructureFailure(wrapped(busy)), true);
      holder.exec('ROLLBACK');
    } finally {
      other.close();
      holder.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('recognises SQLite I/O and full-disk errors, not constraint violations', () => {
    for (const code of [
      'SQLITE_IOERR',
      'SQLITE_IOERR_WRITE',
      'SQLITE_FULL',
      'SQLITE_BUSY_SNAPSHOT',
    ]) {
      assert.equal(isInfrastructureFailure(wrapped(new SqliteError('failed', code))), true, code);
    }
    for (const code of [
      'SQLITE_CONSTRAINT_UNIQUE',
      'SQLITE_CONSTRAINT_FOREIGNKEY',
      'SQLITE_ERROR',
    ]) {
      assert.equal(isInfrastructureFailure(wrapped(new SqliteError('failed', code))), false, code);
    }
  });

  it('recognises a refused PostgreSQL connection (real node-postgres error)', async () => {
    // Port 1 on loopback: nothing listens.
    const client = new Client({ host: '127.0.0.1', port: 1 });
    const error = await rejection(client.connect());
    assert.equal(isInfrastructureFailure(error), true, error.message);
    assert.equal(isInfrastructureFailure(wrapped(error)), true);
  });

  it('recognises a connection the server hangs up on (real node-postgres error)', async () => {
    const client = new Client({ host: '127.0.0.1', port: portOf(hangingUp) });
    const error = await rejection(client.connect());
    assert.match(error.message, /terminated/);
    assert.equal(isInfrastructureFailure(error), true);
  });

  it('recognises a pool that cannot hand out a connection in time (real pg-pool error)', async () => {
    const pool = new Pool({ host: '127.0.0.1', port: portOf(silent), connectionTimeoutMillis: 50 });
    try {
      const error = await rejection(pool.query('SELECT 1'));
      assert.equal(isInfrastructureFailure(wrapped(error)), true, error.message);
    } finally {
      await pool.end().catch(() => undefined);
    }
  });

  it("recognises PostgreSQL's connection, shutdown and resource classes, and nothing else", () => {
    for (const code of ['08006', '08001', '57P01', '57P02', '57P03', '53300', '53100']) {
      assert.equal(isInfrastructureFailure(wrapped(postgresError(code))), true, code);
    }
    for (const code of ['23505', '23503', '22P02', '40001', '42P01', '57014']) {
      assert.equal(isInfrastructureFailure(wrapped(postgresError(code))), false, code);
    }
  });

  it('does not take a domain error or an ordinary bug for an outage', () => {
    assert.equal(isInfrastructureFailure(new DomainError('invalid_token', 'no')), false);
    assert.equal(isInfrastructureFailure(new TypeError('x is undefined')), false);
    assert.equal(isInfrastructureFailure(undefined), false);
  });
});

describe('ProblemDetailsFilter and an infrastructure failure', () => {
  it('answers 503 problem+json with Retry-After, without SQL or driver text', () => {
    const sent: { status?: number; headers: Record<string, string>; body?: string } = {
      headers: {},
    };
    const reply = {
      status(code: number) {
        sent.status = code;
        return reply;
      },
      header(name: string, value: string) {
        sent.headers[name.toLowerCase()] = value;
        return reply;
      },
      send(body: string) {
        sent.body = body;
        return reply;
      },
    };
    const request = { url: '/api/v1/users/me', method: 'GET', id: 'r1' };
    const host = {
      switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
    } as unknown as ArgumentsHost;
    const filter = new ProblemDetailsFilter();
    (filter as unknown as { logger: { warn(): void } }).logger = { warn: () => undefined };
    filter.catch(wrapped(postgresError('57P01')), host);
    assert.equal(sent.status, 503);
    assert.match(sent.headers['content-type'] ?? '', /^application\/problem\+json/);
    assert.match(sent.headers['retry-after'] ?? '', /^[1-9][0-9]*$/);
    assert.equal(sent.headers['www-authenticate'], undefined);
    const body = JSON.parse(sent.body ?? '{}') as Record<string, unknown>;
    assert.equal(body.type, 'urn:problem:identity:service-unavailable');
    assert.doesNotMatch(sent.body ?? '', /SELECT|secret|from the server/);
  });
});
