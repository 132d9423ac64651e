import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { InjectDataSource } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import { DataSource } from 'typeorm';
import { RedisConnection } from '../abuse/redis.provider';
import {
  AuthStateSignals,
  type AuthStateSignalStatus,
} from '../auth/auth-state/auth-state.signals';
import { Public } from '../access/public.decorator';
import { RETRY_AFTER_SECONDS } from '../common/errors/infrastructure-failure';
import { PROBLEM_CONTENT_TYPE, safeJsonStringify } from '../common/http/problem';

// A check that does not answer in this time counts as down: a load balancer waits for no one.
const CHECK_TIMEOUT_MS = 2000;

const AUTH_STATE_STATUSES: AuthStateSignalStatus[] = ['off', 'version', 'listening', 'interrupted'];

class HealthDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';
}

class ReadinessChecksDto {
  @ApiProperty({ enum: ['up', 'down'], description: 'The database answers' })
  database: 'up' | 'down';

  @ApiProperty({
    enum: AUTH_STATE_STATUSES,
    description:
      'The auth-state cache: off (not in use), version (SQLite), listening (PostgreSQL, heartbeat ' +
      'on time) or interrupted (PostgreSQL: not ready, every request reads the database)',
  })
  authState: AuthStateSignalStatus;

  @ApiProperty({
    enum: ['up', 'down', 'not_configured'],
    description:
      'Redis (REDIS_URL). Reported only: while it is down, rate limits fail open to in-process ' +
      'counters and the instance stays ready',
  })
  redis: 'up' | 'down' | 'not_configured';
}

class ReadinessDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';

  @ApiProperty({ type: ReadinessChecksDto })
  checks: ReadinessChecksDto;
}

class NotReadyProblemDto {
  @ApiProperty({ example: 'urn:problem:identity:service-unavailable' })
  type: string;

  @ApiProperty({ example: 'Service unavailable' })
  title: string;

  @ApiProperty({ example: 503 })
  status: number;

  @ApiProperty({ example: 'Not ready: auth-state listener' })
  detail: string;

  @ApiProperty({ example: '/api/v1/health/ready' })
  instance: string;

  @ApiProperty({ type: ReadinessChecksDto })
  checks: ReadinessChecksDto;
}

@ApiTags('health')
@ApiExtraModels(ReadinessChecksDto, NotReadyProblemDto)
@Controller('health')
export class HealthController {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly redis: RedisConnection,
    private readonly signals: AuthStateSignals,
  ) {}

  @Get('live')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Liveness: the process is serving requests' })
  @ApiOkResponse({ type: HealthDto })
  live(): HealthDto {
    return { status: 'ok' };
  }

  /**
   * Red only for what stops the service from answering correctly (SPEC §11): the database and,
   * while the auth-state cache relies on it, the PostgreSQL listener. Redis is reported but
   * never makes the instance unready: without it rate limits fail open to in-process counters.
   */
  @Get('ready')
  @Public()
  @ApiOperation({
    summary:
      'Readiness: 503 while the database or the auth-state listener is down; Redis is reported only',
  })
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({
    description: 'Not ready; `checks` says what is down',
    content: {
      [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/NotReadyProblemDto' } },
    },
    headers: {
      'Retry-After': {
        description: 'Seconds to wait before asking again',
        schema: { type: 'integer', minimum: 1 },
        example: RETRY_AFTER_SECONDS,
      },
    },
  })
  async ready(@Res() reply: FastifyReply): Promise<void> {
    const [database, redis] = await Promise.all([this.database(), this.redisState()]);
    const checks: ReadinessChecksDto = { database, authState: this.signals.status, redis };
    const down = [
      ...(database === 'down' ? ['database'] : []),
      ...(checks.authState === 'interrupted' ? ['auth-state listener'] : []),
    ];
    void reply.header('cache-control', 'no-store');
    if (down.length === 0) {
      const body: ReadinessDto = { status: 'ok', checks };
      void reply
        .status(200)
        .header('content-type', 'application/json; charset=utf-8')
        .send(safeJsonStringify(body));
      return;
    }
    const body: NotReadyProblemDto = {
      type: 'urn:problem:identity:service-unavailable',
      title: 'Service unavailable',
      status: 503,
      detail: `Not ready: ${down.join(', ')}`,
      instance: '/api/v1/health/ready',
      checks,
    };
    void reply
      .status(503)
      .header('retry-after', String(RETRY_AFTER_SECONDS))
      .header('content-type', `${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
      .send(safeJsonStringify(body));
  }

  private async database(): Promise<'up' | 'down'> {
    return (await answers(this.dataSource.query('SELECT 1'))) ? 'up' : 'down';
  }

  private async redisState(): Promise<ReadinessChecksDto['redis']> {
    const client = this.redis.client;
    if (client === null) return 'not_configured';
    if (client.status !== 'ready') return 'down';
    return (await answers(client.ping())) ? 'up' : 'down';
  }
}

/** Whether `check` succeeds within CHECK_TIMEOUT_MS. */
async function answers(check: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([check.then(() => true), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
