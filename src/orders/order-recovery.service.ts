import { Inject, Injectable, Logger } from '@nestjs/common';
import { OutboxWriter } from '../events/outbox.js';
import { OrdersConfig } from '../infra/config/app-config.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { placedEvent } from './order-pipeline.service.js';
import { OrdersRepository } from './orders.repository.js';
import { expireOrdersJob } from './payment-deadlines.js';

export interface Healed {
  /** PENDING orders whose stock inventory was asked about again. */
  reasked: number;
  /** Overdue unpaid orders whose expiry was scheduled again. */
  expired: number;
}

/**
 * The safety net of the order pipeline: nothing stays in a non-final state
 * because an event or a job was lost (Redis restarted empty, say). Run by the
 * periodic reconcile pass for each recent sale:
 * - an order PENDING for ORDER_STUCK_AFTER_MS gets a new `order.placed`
 *   (inventory answers again for a reservation it already made, or reserves);
 * - an order that long past its payment deadline gets an expiry job now.
 * Both are idempotent: a slow answer arriving as well changes nothing.
 */
@Injectable()
export class OrderRecovery {
  private readonly logger = new Logger('OrderRecovery');

  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(OrdersConfig) private readonly config: OrdersConfig,
  ) {}

  async heal(saleId: string): Promise<Healed> {
    const { pending, overdue } = await this.orders.stuck(saleId, this.config.ORDER_STUCK_AFTER_MS);
    if (pending.length > 0) {
      await this.orders.transaction((tx) => this.outbox.write(tx, pending.map(placedEvent)));
      this.logger.warn(`sale ${saleId}: ${pending.length} order(s) PENDING too long, inventory asked again`);
    }
    if (overdue.length > 0) {
      const slot = Math.floor(Date.now() / this.config.ORDER_STUCK_AFTER_MS);
      const job = expireOrdersJob(`heal-expire-${saleId}-${slot}`, overdue);
      await this.queues.enqueue(job.name, job.data, job.opts);
      this.logger.warn(`sale ${saleId}: ${overdue.length} unpaid order(s) past their deadline, expiry scheduled again`);
    }
    return { reasked: pending.length, expired: overdue.length };
  }
}
