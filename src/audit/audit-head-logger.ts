import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { AuditService } from './audit.service';

/**
 * Anchors the chain outside the database: every AUDIT_HEAD_LOG_SECONDS, if the chain has grown,
 * one log line states its head (`<sequence>:<hash>`, as `audit:head` prints it). Logs shipped
 * elsewhere keep heads a database writer cannot reach; `audit:verify --head` checks one.
 */
@Injectable()
export class AuditHeadLogger implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('AuditHead');

  private timer: NodeJS.Timeout | undefined;

  private lastLogged: number | undefined;

  constructor(
    private readonly audit: AuditService,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const seconds = this.config.audit.headLogSeconds;
    if (seconds === 0) return;
    this.timer = setInterval(() => void this.logHead(), seconds * 1000);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Logs the head if it moved since the last line; returns what it logged. */
  async logHead(): Promise<string | undefined> {
    try {
      const head = await this.audit.head();
      if (head === null || head.sequence === this.lastLogged) return undefined;
      this.lastLogged = head.sequence;
      const line = `${head.sequence}:${head.hash} ${head.occurredAt.toISOString()}`;
      this.logger.log(`audit chain head ${line}`);
      return line;
    } catch (error) {
      this.logger.warn(
        `audit chain head not read: ${error instanceof Error ? error.message : String(error)}`,
      );
      return undefined;
    }
  }
}
