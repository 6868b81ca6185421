import type { NewEvent } from '../events/outbox.js';
import { EventName } from '../infra/queues/queues.js';
import type { OrderRow } from './orders.repository.js';

/** Why an order was cancelled. */
export type CancelReason = 'timeout' | 'requested';

/** What a reason is called on the order (failure_reason) and in messages. */
export const CANCEL_REASONS: Record<CancelReason, string> = {
  timeout: 'PAYMENT_TIMEOUT',
  requested: 'CANCELLED_BY_REQUEST',
};

/** `order.cancelled` of an order cancelled now (by its shopper, an admin or its payment deadline). */
export function cancelledEvent(o: OrderRow, reason: CancelReason): NewEvent<typeof EventName.OrderCancelled> {
  return {
    type: EventName.OrderCancelled,
    aggregateId: o.id,
    payload: {
      orderId: o.id,
      saleId: o.saleId,
      userId: o.userId,
      quantity: o.quantity,
      amount: o.amount,
      reason,
    },
  };
}

declare module '../events/event-batch.js' {
  /** What the orders module publishes: the payloads of its events (see infra/queues for who receives them). */
  interface EventPayloads {
    [EventName.OrderPlaced]: { orderId: string; saleId: string; userId: string; quantity: number };
    [EventName.OrderConfirmed]: {
      orderId: string;
      saleId: string;
      userId: string;
      quantity: number;
      amount: number;
      paymentDeadline: string;
    };
    [EventName.OrderPaid]: {
      orderId: string;
      saleId: string;
      userId: string;
      quantity: number;
      amount: number;
      paymentId: string;
      paidAt: string;
    };
    [EventName.OrderCancelled]: {
      orderId: string;
      saleId: string;
      userId: string;
      quantity: number;
      amount: number;
      reason: CancelReason;
    };
  }
}

declare module '../infra/queues/queues.js' {
  interface JobData {
    [JobName.SweepTickets]: Record<string, never>;
    [JobName.ExpireOrder]: { orderId: string };
    [JobName.ExpireOrders]: { orderIds: string[] };
  }
}
