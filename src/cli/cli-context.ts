import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CliError } from './cli-error';

/**
 * A command's Nest application context on `module`, logging only warnings and errors. A boot
 * failure (configuration, database) is one CliError line: Nest has already logged the cause
 * with its stack. `writes`: the command changes data, so the line says nothing was changed.
 */
export function cliContext(
  module: Type,
  options: { writes: boolean },
): Promise<INestApplicationContext> {
  return NestFactory.createApplicationContext(module, {
    logger: ['error', 'warn'],
    abortOnError: false,
  }).catch((error: unknown) => {
    throw new CliError(
      `Error: the service could not start (${String(error)})` +
        (options.writes ? '; nothing was changed' : ''),
      1,
    );
  });
}
