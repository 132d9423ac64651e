import { cliContext } from './cli-context';
import { configFromEnvironment } from '../config/app-config';
import { RetentionService } from '../retention/retention.service';
import { CliError } from './cli-error';
import { PruneCliModule } from './prune-cli.module';

/** One retention pass, as the scheduled job runs it; exits 1 if the audit chain stopped it. */
export async function prune(): Promise<void> {
  configFromEnvironment();
  const app = await cliContext(PruneCliModule, { writes: false });
  try {
    const result = await app.get(RetentionService).prune();
    console.log(
      `Pruned ${result.sessions} sessions, ${result.refreshTokens} refresh tokens, ` +
        `${result.mails} mails, ${result.accountTokens} account tokens, ` +
        `${result.mfaChallenges} MFA challenges, ${result.oidcModels} OpenID Provider records, ` +
        `${result.auditEvents} audit events` +
        (result.auditCheckpoint === null
          ? ''
          : ` (checkpoint at sequence ${result.auditCheckpoint})`) +
        (result.skipped ? '; stopped there: another instance is pruning' : ''),
    );
    if (result.auditProblem !== null) {
      throw new CliError(`Error: audit events were not pruned: ${result.auditProblem}`, 1);
    }
  } finally {
    await app.close();
  }
}
