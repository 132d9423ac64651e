import { Global, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics.server';
import { Metrics } from './metrics.service';

/**
 * Prometheus metrics (SPEC §11): the registry every feature reports to. Global, and importing
 * no feature: features report to {@link Metrics} or register what they count themselves, so no
 * feature depends on another through it. The CLI imports it too (its commands share services
 * with the server) but serves nothing.
 */
@Global()
@Module({ providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}

/** Serving the metrics: GET /metrics on the API's port or on METRICS_PORT (server only). */
@Module({ controllers: [MetricsController], providers: [MetricsServer] })
export class MetricsEndpointModule {}
