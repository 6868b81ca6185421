import type { EventName } from '../../infra/queues/queues.js';
import { escapeHtml, moment, money } from './format.js';
import type { NotificationTemplate } from './template.js';

/** Paid: a receipt by email (no SMS). */
export const orderPaid: NotificationTemplate<typeof EventName.OrderPaid> = {
  email: ({ event, sale, shopper }) => {
    const greeting = shopper.name ? `Hello ${shopper.name},` : 'Hello,';
    const paidAt = moment(event.paidAt);
    const lines = [
      greeting,
      '',
      `thank you: your payment for order ${event.orderId} is received.`,
      '',
      `Item:     ${sale.name}`,
      `Quantity: ${event.quantity}`,
      `Paid:     ${money(event.amount)}`,
      `On:       ${paidAt}`,
      `Receipt:  ${event.paymentId}`,
    ];
    const row = (label: string, value: string): string =>
      `<tr><th align="left">${label}</th><td>${escapeHtml(value)}</td></tr>`;
    return {
      subject: `Receipt for order ${event.orderId}: ${money(event.amount)} paid`,
      text: lines.join('\n'),
      html: [
        `<p>${escapeHtml(greeting)}</p>`,
        `<p>thank you: your payment for order <strong>${escapeHtml(event.orderId)}</strong> is received.</p>`,
        '<table>',
        row('Item', sale.name),
        row('Quantity', String(event.quantity)),
        row('Paid', money(event.amount)),
        row('On', paidAt),
        row('Receipt', event.paymentId),
        '</table>',
      ].join('\n'),
    };
  },
};
