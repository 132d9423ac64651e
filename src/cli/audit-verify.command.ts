import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AuditEvent } from '../audit/audit-event.entity';
import { AuditService } from '../audit/audit.service';
import { configFromEnvironment } from '../config/app-config';
import { CliError } from './cli-error';
import { ReadOnlyCliModule } from './read-only-cli.module';

/** Checks the audit log's hash chain; exits 1 naming the first broken event. */
export async function auditVerify(): Promise<void> {
  configFromEnvironment();
  const app = await NestFactory.createApplicationContext(ReadOnlyCliModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  }).catch((error: unknown) => {
    throw new CliError(`Error: the service could not start (${String(error)})`, 1);
  });
  try {
    const dataSource = app.get(DataSource);
    if (!(await hasAuditTable(dataSource))) {
      throw new CliError(
        'Error: the database has no audit_events table; start the service (or run ' +
          '`npm run migration:run`) to apply the migrations first',
        1,
      );
    }
    const result = await app.get(AuditService).verifyChain();
    if (result.ok) {
      console.log(`Audit log OK: ${result.count} ${result.count === 1 ? 'event' : 'events'}`);
      return;
    }
    const broken = await dataSource
      .getRepository(AuditEvent)
      .findOne({ where: { id: result.brokenEventId }, select: { id: true, sequence: true } });
    throw new CliError(
      `Audit log BROKEN at event ${result.brokenEventId} (sequence ${broken?.sequence ?? '?'}): ` +
        `${result.reason}; the ${result.count} events before it are intact`,
      1,
    );
  } finally {
    await app.close();
  }
}

async function hasAuditTable(dataSource: DataSource): Promise<boolean> {
  const runner = dataSource.createQueryRunner();
  try {
    return await runner.hasTable('audit_events');
  } finally {
    await runner.release();
  }
}
