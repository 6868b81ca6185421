import { Inject, Injectable } from '@nestjs/common';
import { OutboxRepository } from './outbox.repository.js';

/** How far the relay is behind, for the ops module's metrics. */
@Injectable()
export class OutboxBacklog {
  constructor(@Inject(OutboxRepository) private readonly outbox: OutboxRepository) {}

  /** Outbox events not yet relayed, and the age in seconds of the oldest (0 when none). */
  read(): Promise<{ unpublished: number; oldestSeconds: number }> {
    return this.outbox.backlog();
  }
}
