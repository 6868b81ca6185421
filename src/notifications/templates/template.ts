import type { EventName } from '../../infra/queues/queues.js';
import type { EventPayloads } from '../../events/event-batch.js';
import type { EmailContent, SmsContent } from '../notification.types.js';

/** Everything a template may use: the event, and the order, shopper and sale it is about. */
export interface NotificationContext<E extends EventName = EventName> {
  event: EventPayloads[E];
  order: {
    id: string;
    quantity: number;
    /** Minor units. */
    amount: number;
    status: string;
    paymentDeadline: Date | null;
  };
  shopper: { email: string; phone: string; name: string | null };
  sale: { id: string; name: string };
}

/**
 * The messages one event sends: an email, an SMS, or both. A channel left out
 * sends nothing for this event.
 */
export interface NotificationTemplate<E extends EventName = EventName> {
  email?: (ctx: NotificationContext<E>) => EmailContent;
  sms?: (ctx: NotificationContext<E>) => SmsContent;
}
