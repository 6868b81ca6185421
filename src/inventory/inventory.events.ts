import type { EventName } from '../infra/queues/queues.js';

declare module '../events/event-batch.js' {
  /** What the inventory module publishes: its answers to `order.placed` and `order.cancelled`. */
  interface EventPayloads {
    [EventName.InventoryReserved]: { orderId: string; saleId: string; quantity: number };
    [EventName.InventoryRejected]: { orderId: string; saleId: string; quantity: number; reason: string };
    /** A cancelled order's stock is back in Postgres (RETURNED), or was never taken (VOIDED). */
    [EventName.InventoryReturned]: { orderId: string; saleId: string; userId: string; quantity: number };
  }
}
