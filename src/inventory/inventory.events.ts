import type { EventName } from '../infra/queues/queues.js';

/** What the inventory module publishes: its answers to `order.placed`. */
export interface InventoryEventPayloads {
  [EventName.InventoryReserved]: { orderId: string; saleId: string; quantity: number };
  [EventName.InventoryRejected]: { orderId: string; saleId: string; quantity: number; reason: string };
}
