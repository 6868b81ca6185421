import { eventGuards, type EventPayloads } from '../events/event-batch.js';
import type { NewEvent } from '../events/outbox.js';
import { carriesNothing, EventName, JobName, type JobData, type PayloadGuards } from '../infra/queues/queues.js';
import type { OrderRow } from './orders.repository.js';

/** Why an order was cancelled. */
export type CancelReason = 'timeout' | 'requested';

/** What a reason is called on the order (failure_reason) and in messages. */
export const CANCEL_REASONS: Record<CancelReason, string> = {
  timeout: 'PAYMENT_TIMEOUT',
  requested: 'CANCELLED_BY_REQUEST',
};

/** What every order event but `order.placed` says of its order (`order.placed`: all of it but the amount). */
export interface OrderFacts {
  orderId: string;
  saleId: string;
  userId: string;
  quantity: number;
  /** Minor units: price × quantity, fixed at admission. */
  amount: number;
}

/** The facts of an order, for its events. */
export function orderFacts(o: OrderRow): OrderFacts {
  return { orderId: o.id, saleId: o.saleId, userId: o.userId, quantity: o.quantity, amount: o.amount };
}

/** `order.cancelled` of an order cancelled now (by its shopper, an admin or its payment deadline). */
export function cancelledEvent(o: OrderRow, reason: CancelReason): NewEvent<typeof EventName.OrderCancelled> {
  return { type: EventName.OrderCancelled, aggregateId: o.id, payload: { ...orderFacts(o), reason } };
}

declare module '../events/event-batch.js' {
  /** What the orders module publishes: the payloads of its events (see infra/queues for who receives them). */
  interface EventPayloads {
    [EventName.OrderPlaced]: Omit<OrderFacts, 'amount'>;
    [EventName.OrderConfirmed]: OrderFacts & { paymentDeadline: string };
    [EventName.OrderPaid]: OrderFacts & { paymentId: string; paidAt: string };
    [EventName.OrderCancelled]: OrderFacts & { reason: CancelReason };
  }
}

declare module '../infra/queues/queues.js' {
  interface JobData {
    [JobName.SweepTickets]: Record<string, never>;
    [JobName.ExpireOrder]: { orderId: string };
    [JobName.ExpireOrders]: { orderIds: string[] };
  }
}

type Payload<E extends keyof EventPayloads> = Partial<EventPayloads[E]> | null;

function isPlaced(p: unknown): p is EventPayloads[typeof EventName.OrderPlaced] {
  const o = p as Payload<typeof EventName.OrderPlaced>;
  return (
    typeof o?.orderId === 'string' &&
    typeof o.saleId === 'string' &&
    typeof o.userId === 'string' &&
    Number.isInteger(o.quantity)
  );
}

function isOrderFacts(p: unknown): p is OrderFacts {
  return isPlaced(p) && typeof (p as Partial<OrderFacts>).amount === 'number';
}

/** The guards of the orders module's event payloads (checked by the worker before a handler runs). */
export const ORDER_EVENT_GUARDS = eventGuards({
  [EventName.OrderPlaced]: isPlaced,
  [EventName.OrderConfirmed]: (p): p is EventPayloads[typeof EventName.OrderConfirmed] =>
    isOrderFacts(p) && typeof (p as Payload<typeof EventName.OrderConfirmed>)?.paymentDeadline === 'string',
  [EventName.OrderPaid]: (p): p is EventPayloads[typeof EventName.OrderPaid] => {
    const o = p as Payload<typeof EventName.OrderPaid>;
    return isOrderFacts(p) && typeof o?.paymentId === 'string' && typeof o.paidAt === 'string';
  },
  [EventName.OrderCancelled]: (p): p is EventPayloads[typeof EventName.OrderCancelled] =>
    isOrderFacts(p) && Object.hasOwn(CANCEL_REASONS, (p as Payload<typeof EventName.OrderCancelled>)?.reason ?? ''),
});

/** The guards of the orders module's job payloads. */
export const ORDER_JOB_GUARDS = {
  [JobName.SweepTickets]: carriesNothing,
  [JobName.ExpireOrder]: (d: unknown): d is JobData[typeof JobName.ExpireOrder] =>
    typeof (d as Partial<JobData[typeof JobName.ExpireOrder]> | null)?.orderId === 'string',
  [JobName.ExpireOrders]: (d: unknown): d is JobData[typeof JobName.ExpireOrders] => {
    const ids = (d as Partial<JobData[typeof JobName.ExpireOrders]> | null)?.orderIds;
    return Array.isArray(ids) && ids.every((id) => typeof id === 'string');
  },
} satisfies Partial<PayloadGuards>;
