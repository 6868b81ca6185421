import type { EventName } from '../../infra/queues/queues.js';
import type { CancelReason } from '../../orders/order.events.js';
import { escapeHtml, money } from './format.js';
import type { NotificationTemplate } from './template.js';

/** Why, in the shopper's words. */
export const CANCEL_WHY: Record<CancelReason, string> = {
  timeout: 'it was not paid by its payment deadline',
  requested: 'it was cancelled at your request',
};

/** Cancelled: email and SMS saying why (timeout or by request). */
export const orderCancelled: NotificationTemplate<typeof EventName.OrderCancelled> = {
  email: ({ event, sale, shopper }) => {
    const greeting = shopper.name ? `Hello ${shopper.name},` : 'Hello,';
    const why = CANCEL_WHY[event.reason];
    const lines = [
      greeting,
      '',
      `your order ${event.orderId} is cancelled: ${why}.`,
      '',
      `Item:     ${sale.name}`,
      `Quantity: ${event.quantity}`,
      `Amount:   ${money(event.amount)} (nothing was charged)`,
      '',
      'The stock went back on sale.',
    ];
    return {
      subject: `Order ${event.orderId} cancelled`,
      text: lines.join('\n'),
      html: [
        `<p>${escapeHtml(greeting)}</p>`,
        `<p>your order <strong>${escapeHtml(event.orderId)}</strong> is cancelled: ${escapeHtml(why)}.</p>`,
        `<p>${escapeHtml(`${event.quantity} x ${sale.name}, ${money(event.amount)}`)} (nothing was charged).</p>`,
        '<p>The stock went back on sale.</p>',
      ].join('\n'),
    };
  },
  sms: ({ event, sale }) => ({
    text: `Order ${event.orderId} cancelled (${event.quantity} x ${sale.name}): ${CANCEL_WHY[event.reason]}.`,
  }),
};
