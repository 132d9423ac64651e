import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * A development key kept in a file (mode 0600): the one already there, or `generate()` written
 * there first. Written with 'wx', so of two processes generating at the same moment one wins
 * and both read its key back. Production configures its keys instead (production-policy.ts).
 */
export function keptKey(
  file: string,
  generate: () => string,
): { text: string; generated: boolean } {
  const existing = readKeyFile(file);
  if (existing !== undefined) return { text: existing, generated: false };
  mkdirSync(path.dirname(file), { recursive: true });
  try {
    writeFileSync(file, `${generate()}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
  }
  const written = readKeyFile(file);
  if (written === undefined) throw new Error(`${file}: the generated key could not be read back`);
  return { text: written, generated: true };
}

function readKeyFile(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
}
