import { configFromEnvironment } from '../config/app-config';
import { runPendingMigrations } from '../database/run-migrations';
import { CliError } from './cli-error';

/** `migrate`: applies pending migrations and names each; needs only production dependencies. */
export async function migrate(): Promise<void> {
  const config = configFromEnvironment();
  let applied: string[];
  try {
    applied = await runPendingMigrations(config);
  } catch (error) {
    // The message only: a failed statement's parameters are no business of a deploy log.
    throw new CliError(
      `Error: migrations failed (${error instanceof Error ? error.message : String(error)})`,
      1,
    );
  }
  console.log(
    applied.length === 0
      ? 'No pending migrations.'
      : applied.map((name) => `Applied ${name}.`).join('\n'),
  );
}
