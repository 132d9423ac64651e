import { Controller, Get, Header, NotFoundException, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../access/public.decorator';
import { DomainError } from '../common/errors/domain-error';
import { AppConfig } from '../config/app-config';
import { bearerMatches } from './metrics-access';
import { Metrics } from './metrics.service';

/** The path of the metrics, outside the API prefix as Prometheus expects. */
export const METRICS_PATH = 'metrics';

/**
 * GET /metrics on the API's port, for a scraper holding METRICS_TOKEN. Not part of the API
 * (left out of its OpenAPI document). With METRICS_PORT set it is served there instead
 * (MetricsServer), and here it does not exist; with neither setting it does not exist at all.
 */
@Controller(METRICS_PATH)
@ApiExcludeController()
export class MetricsController {
  constructor(
    private readonly metrics: Metrics,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Public()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(@Req() request: FastifyRequest): Promise<string> {
    const { token, port } = this.config.metrics;
    // Answered like any unknown path: nothing tells a caller the metrics exist elsewhere.
    if (token === undefined || port !== undefined) throw new NotFoundException();
    const header = request.headers.authorization;
    if (header === undefined) {
      throw new DomainError('missing_token', 'The metrics need the bearer token METRICS_TOKEN');
    }
    if (!bearerMatches(header, token)) {
      throw new DomainError('invalid_token', 'The metrics token is not METRICS_TOKEN');
    }
    return this.metrics.render();
  }
}
