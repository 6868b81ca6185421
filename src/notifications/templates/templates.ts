import { EventName } from '../../infra/queues/queues.js';
import type { EventPayloads } from '../../events/event-batch.js';
import { orderCancelled } from './order-cancelled.template.js';
import { orderConfirmed } from './order-confirmed.template.js';
import { orderPaid } from './order-paid.template.js';
import type { NotificationTemplate } from './template.js';

/** Events about one order: only those can notify (the order names the shopper). */
export type OrderEvent = { [E in EventName]: EventPayloads[E] extends { orderId: string } ? E : never }[EventName];

/**
 * The message each event sends. To notify on another event: write its
 * template, add it here, and route the event to the notifications queue in
 * EVENT_CONSUMERS (queues.ts). Boot refuses an event routed there without a
 * template.
 */
export const TEMPLATES: { readonly [E in OrderEvent]?: NotificationTemplate<E> } = {
  [EventName.OrderConfirmed]: orderConfirmed,
  [EventName.OrderPaid]: orderPaid,
  [EventName.OrderCancelled]: orderCancelled,
};

/** The events that have a template. */
export const NOTIFIED_EVENTS = Object.keys(TEMPLATES) as OrderEvent[];
