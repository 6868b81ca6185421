import type { EventName } from '../infra/queues/queues.js';

/** Why an order was cancelled. */
export type CancelReason = 'timeout' | 'requested';

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
