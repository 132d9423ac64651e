import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';

// The layout rules of docs/architecture.md, checked on the TypeScript sources (tests run from
// the repository root), so a change that breaks one fails here instead of in a review.

const SRC = path.resolve('src');

interface SourceFile {
  /** Path relative to src/, with forward slashes. */
  name: string;
  /** The top-level folder under src/ ('' for the composition files at the top). */
  folder: string;
  text: string;
}

function sources(): SourceFile[] {
  const walk = (directory: string): string[] =>
    readdirSync(directory).flatMap((entry) => {
      const full = path.join(directory, entry);
      return statSync(full).isDirectory() ? walk(full) : [full];
    });
  return walk(SRC)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.spec.ts'))
    .map((file) => {
      const name = path.relative(SRC, file).split(path.sep).join('/');
      return {
        name,
        folder: name.includes('/') ? (name.split('/')[0] ?? '') : '',
        text: readFileSync(file, 'utf8'),
      };
    });
}

/** Relative imports that exist at run time (`import type` is erased), as src/-relative paths. */
function runtimeImports(file: SourceFile): string[] {
  return [...file.text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'(\.[^']+)'/gm)].map((match) =>
    path.posix.normalize(path.posix.join(path.posix.dirname(file.name), match[1] ?? '')),
  );
}

const FILES = sources();

describe('layout rules (docs/architecture.md)', () => {
  it('has no import cycle between feature folders', () => {
    const edges = new Map<string, Map<string, string>>();
    for (const file of FILES) {
      // The composition files at the top import everything; the entity list is the data
      // layer's registry of every feature's tables (entities import nothing of it).
      if (file.folder === '' || file.name === 'database/entities.ts') continue;
      for (const target of runtimeImports(file)) {
        const folder = target.includes('/') ? (target.split('/')[0] ?? '') : '';
        if (folder === '' || folder === '..' || folder === file.folder) continue;
        const from = edges.get(file.folder) ?? new Map<string, string>();
        if (!from.has(folder)) from.set(folder, `${file.name} → ${target}`);
        edges.set(file.folder, from);
      }
    }
    const cycles: string[] = [];
    const visit = (folder: string, trail: string[]): void => {
      for (const [next, example] of edges.get(folder) ?? []) {
        const at = trail.indexOf(next);
        if (at === 0) cycles.push([...trail, next].join(' → ') + `  (e.g. ${example})`);
        else if (at < 0 && next > trail[0]) visit(next, [...trail, next]);
      }
    };
    for (const folder of [...edges.keys()].sort()) visit(folder, [folder]);
    assert.deepEqual(cycles, []);
  });

  it('lets only the data layer and health checks hold the DataSource', () => {
    const holders = FILES.filter((file) => /\bInjectDataSource\b|\bDataSource\b/.test(file.text))
      .map((file) => file.name)
      .filter((name) => !name.startsWith('database/') && !name.startsWith('health/'));
    assert.deepEqual(holders, []);
  });

  it('keeps TypeORM internals (deep imports, native handles) inside src/database/', () => {
    const offenders = FILES.filter(
      (file) =>
        !file.name.startsWith('database/') &&
        /from 'typeorm\/|databaseConnection|driver\.master|preparePersistentValue/.test(file.text),
    ).map((file) => file.name);
    assert.deepEqual(offenders, []);
  });

  it('gives services repositories and Transactions, never the Database adapter', () => {
    const offenders = FILES.filter(
      (file) => file.name.endsWith('.service.ts') && /\bDatabase\b(?!Module)/.test(file.text),
    ).map((file) => file.name);
    assert.deepEqual(offenders, []);
  });

  it('keeps SQL and the entity API out of services (a Transaction is only handed on)', () => {
    const offenders = FILES.filter(
      (file) =>
        file.name.endsWith('.service.ts') &&
        /\.getRepository\(|\.createQueryBuilder\(|\.query(<[^>]*>)?\(|\b(SELECT|INSERT|UPDATE|DELETE)\s/.test(
          file.text,
        ),
    ).map((file) => file.name);
    assert.deepEqual(offenders, []);
  });

  it('names the dialects only in src/database/, repositories and configuration', () => {
    const offenders = FILES.filter(
      (file) =>
        !file.name.startsWith('database/') &&
        !file.name.startsWith('config/') &&
        !file.name.endsWith('.repository.ts') &&
        /'postgres'|'better-sqlite3'|'sqlite'|\bdialect\b/.test(file.text),
    ).map((file) => file.name);
    assert.deepEqual(offenders, []);
  });
});
