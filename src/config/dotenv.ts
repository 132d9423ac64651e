import { existsSync } from 'node:fs';

// Imported first by every entry point (server, CLI, TypeORM CLI) so `.env` is in process.env
// before entity decorators and the configuration read it. Variables already set win.
if (existsSync('.env')) process.loadEnvFile('.env');
