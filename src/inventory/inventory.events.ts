import { eventGuards, type EventPayloads } from '../events/event-batch.js';
import { EventName } from '../infra/queues/queues.js';

declare module '../events/event-batch.js' {
  /** What the inventory module publishes: its answers to `order.placed` and `order.cancelled`. */
  interface EventPayloads {
    [EventName.InventoryReserved]: { orderId: string; saleId: string; quantity: number };
    [EventName.InventoryRejected]: { orderId: string; saleId: string; quantity: number; reason: string };
    /** A cancelled order's stock is back in Postgres (RETURNED), or was never taken (VOIDED). */
    [EventName.InventoryReturned]: { orderId: string; saleId: string; userId: string; quantity: number };
  }
}

type Payload<E extends keyof EventPayloads> = Partial<EventPayloads[E]> | null;

function isReserved(p: unknown): p is EventPayloads[typeof EventName.InventoryReserved] {
  const o = p as Payload<typeof EventName.InventoryReserved>;
  return typeof o?.orderId === 'string' && typeof o.saleId === 'string' && Number.isInteger(o.quantity);
}

/** The guards of the inventory module's event payloads (checked by the worker before a handler runs). */
export const INVENTORY_EVENT_GUARDS = eventGuards({
  [EventName.InventoryReserved]: isReserved,
  [EventName.InventoryRejected]: (p): p is EventPayloads[typeof EventName.InventoryRejected] =>
    isReserved(p) && typeof (p as Payload<typeof EventName.InventoryRejected>)?.reason === 'string',
  [EventName.InventoryReturned]: (p): p is EventPayloads[typeof EventName.InventoryReturned] =>
    isReserved(p) && typeof (p as Payload<typeof EventName.InventoryReturned>)?.userId === 'string',
});
