import { Injectable } from '@nestjs/common';
import type { Transaction } from '../database/database';

/** A change to an account that other features must act on within the same transaction. */
export interface AccountEvent {
  type: 'deactivated';
  userId: string;
}

export type AccountListener = (tx: Transaction, event: AccountEvent) => Promise<void>;

/**
 * Account changes other features follow (a deactivation ends the account's sessions). They
 * subscribe here, so users/ depends on none of them; listeners run inside the transaction of
 * the change, so what they do commits or rolls back with it.
 */
@Injectable()
export class AccountEvents {
  private readonly listeners: AccountListener[] = [];

  subscribe(listener: AccountListener): void {
    this.listeners.push(listener);
  }

  /**
   * Runs every listener in `tx`. With none (an app built without the sessions module) it
   * refuses, rolling the change back: a deactivation that ends no sessions must not commit.
   */
  async publish(tx: Transaction, event: AccountEvent): Promise<void> {
    if (this.listeners.length === 0) {
      throw new Error(`account event ${event.type} has no listener: nothing would act on it`);
    }
    for (const listener of this.listeners) await listener(tx, event);
  }
}
