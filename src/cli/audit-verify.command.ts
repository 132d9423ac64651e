import { cliContext } from './cli-context';
import { AuditService, ExpectedHead } from '../audit/audit.service';
import { configFromEnvironment } from '../config/app-config';
import { CliError } from './cli-error';
import { ReadOnlyCliModule } from './read-only-cli.module';

/**
 * Checks the audit log's keyed chain (from the retention checkpoint, if any); with `expected`,
 * also that the chain still holds that head. Exits 1 naming the first broken event.
 */
export async function auditVerify(expected?: ExpectedHead): Promise<void> {
  await withReadOnlyAudit(async (audit) => {
    const result = await audit.verifyChain(expected);
    if (!result.ok) {
      const where =
        result.brokenEventId === null
          ? ''
          : ` at event ${result.brokenEventId} (sequence ${result.brokenSequence ?? '?'})`;
      throw new CliError(
        `Audit log BROKEN${where}: ${result.reason}; the ${result.count} events before it are intact`,
        1,
      );
    }
    const parts = [`${result.count} ${result.count === 1 ? 'event' : 'events'}`];
    if (result.checkpoint !== null) {
      parts.push(
        `after the checkpoint at sequence ${result.checkpoint.throughSequence} ` +
          `(${result.checkpoint.prunedCount} pruned)`,
      );
    }
    if (result.legacy > 0) parts.push(`${result.legacy} of them unkeyed (before keyed chaining)`);
    if (expected !== undefined) parts.push(`head ${expected.sequence} matches`);
    console.log(`Audit log OK: ${parts.join('; ')}`);
    if (result.head !== null) console.log(`Head: ${formatHead(result.head)}`);
  });
}

/** Prints the chain's newest event, `<sequence>:<hash> <time>`, to be kept outside the database. */
export async function auditHead(): Promise<void> {
  await withReadOnlyAudit(async (audit) => {
    const head = await audit.head();
    if (head === null) throw new CliError('Error: the audit log is empty', 1);
    console.log(formatHead(head));
  });
}

function formatHead(head: { sequence: number; hash: string; occurredAt: Date }): string {
  return `${head.sequence}:${head.hash} ${head.occurredAt.toISOString()}`;
}

async function withReadOnlyAudit(run: (audit: AuditService) => Promise<void>): Promise<void> {
  configFromEnvironment();
  const app = await cliContext(ReadOnlyCliModule, { writes: false });
  try {
    const audit = app.get(AuditService);
    if (!(await audit.hasTables())) {
      throw new CliError(
        'Error: the database has no audit_events table (or an old schema); start the service ' +
          '(or run `npm run migration:run`) to apply the migrations first',
        1,
      );
    }
    await run(audit);
  } finally {
    await app.close();
  }
}
