import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock/clock';
import { AppConfig } from '../../config/app-config';
import type { Transaction } from '../../database/database';
import { MailOutbox } from '../../mail/mail-outbox.service';
import {
  type NoticeFactor,
  secondFactorAddedMail,
  secondFactorRemovedMail,
  secondFactorsResetMail,
} from './second-factor-notices.mail';

type Recipient = { id: string; username: string; email: string };

/**
 * Tells the owner of an account by mail that its second factors changed, queued in the
 * transaction of the change (when the service sends mail at all: some mail flow is on, as for
 * the "password changed" notice).
 */
@Injectable()
export class SecondFactorNotices {
  constructor(
    private readonly outbox: MailOutbox,
    private readonly config: AppConfig,
    private readonly clock: Clock,
  ) {}

  async factorAdded(tx: Transaction, user: Recipient, factor: NoticeFactor): Promise<void> {
    const mail = secondFactorAddedMail(this.config, {
      username: user.username,
      at: this.clock.now(),
      factor,
    });
    await this.queue(tx, user, 'mfa-factor-added', mail);
  }

  async factorRemoved(
    tx: Transaction,
    user: Recipient,
    factor: NoticeFactor,
    othersLeft: boolean,
  ): Promise<void> {
    const mail = secondFactorRemovedMail(this.config, {
      username: user.username,
      at: this.clock.now(),
      factor,
      othersLeft,
    });
    await this.queue(tx, user, 'mfa-factor-removed', mail);
  }

  async resetByAdmin(tx: Transaction, user: Recipient): Promise<void> {
    const mail = secondFactorsResetMail(this.config, {
      username: user.username,
      at: this.clock.now(),
    });
    await this.queue(tx, user, 'mfa-reset', mail);
  }

  private async queue(
    tx: Transaction,
    user: Recipient,
    kind: string,
    mail: { subject: string; text: string; html: string },
  ): Promise<void> {
    if (!this.config.accountLifecycle.mailFlows) return;
    await this.outbox.queue(tx, { kind, to: user.email, userId: user.id, ...mail });
  }
}
