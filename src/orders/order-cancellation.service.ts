import { Inject, Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth.types.js';
import { OutboxWriter } from '../events/outbox.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { CANCEL_REASONS, cancelledEvent } from './order.events.js';
import { OrderStatusPublisher } from './order-status.js';
import { OrdersRepository } from './orders.repository.js';

/**
 * A shopper's (or an admin's) cancel: one conditional UPDATE with
 * `order.cancelled` in the same transaction, so a cancel racing a payment or
 * the payment deadline resolves to exactly one of them; the stock goes back
 * through inventory (`order.cancelled` → `inventory.returned`).
 */
@Injectable()
export class OrderCancellation {
  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(OrderStatusPublisher) private readonly status: OrderStatusPublisher,
  ) {}

  /**
   * Cancels a PENDING or AWAITING_PAYMENT order (owner or admin). Already
   * CANCELLED: returned unchanged. PAID or FAILED, or not persisted yet
   * (QUEUED), or a payment under way: 409 ORDER_NOT_CANCELLABLE.
   */
  async cancel(orderId: string, caller: AuthUser): Promise<{ id: string }> {
    const order = await this.orders.findById(orderId);
    if (!order || (order.userId !== caller.id && caller.role !== 'ADMIN')) throw notFound();
    const [cancelled] = await this.orders.transaction(async (tx) => {
      const rows = await this.orders.cancel(tx, [orderId], {
        from: ['PENDING', 'AWAITING_PAYMENT'],
        reason: CANCEL_REASONS.requested,
      });
      await this.outbox.write(
        tx,
        rows.map((o) => cancelledEvent(o, 'requested')),
      );
      return rows;
    });
    if (cancelled) {
      await this.status.publish([{ orderId, status: 'CANCELLED', reason: CANCEL_REASONS.requested }]);
      return { id: orderId };
    }
    const now = await this.orders.findById(orderId);
    if (now?.status === 'CANCELLED') return { id: orderId };
    if (now?.status === 'AWAITING_PAYMENT' && now.payClaimUntil && now.payClaimUntil.getTime() > Date.now()) {
      throw new DomainError(
        'ORDER_NOT_CANCELLABLE',
        'A payment of this order is under way; it cannot be cancelled now',
      );
    }
    throw new DomainError(
      'ORDER_NOT_CANCELLABLE',
      `The order is ${now?.status ?? order.status}; it cannot be cancelled`,
    );
  }
}

function notFound(): DomainError {
  return new DomainError('ORDER_NOT_FOUND', 'No such order');
}
