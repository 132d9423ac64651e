import { Injectable } from '@nestjs/common';
import { Metrics } from '../metrics/metrics.service';
import { Database } from './database';

/** The database pool in the metrics (PostgreSQL; SQLite has one connection and no pool). */
@Injectable()
export class PoolMetrics {
  constructor(database: Database, metrics: Metrics) {
    metrics.gauge(
      'identity_db_pool_connections',
      'PostgreSQL pool: connections open (total), idle, the pool size (max), and queries waiting for one',
      ['state'],
      () => {
        const stats = database.poolStats();
        if (stats === undefined) return [];
        return [
          [{ state: 'total' }, stats.total],
          [{ state: 'idle' }, stats.idle],
          [{ state: 'waiting' }, stats.waiting],
          [{ state: 'max' }, stats.max],
        ];
      },
    );
  }
}
