import type { EventName } from '../../infra/queues/queues.js';
import { escapeHtml, moment, money } from './format.js';
import type { NotificationTemplate } from './template.js';

/** Stock reserved: the shopper has until the payment deadline to pay. */
export const orderConfirmed: NotificationTemplate<typeof EventName.OrderConfirmed> = {
  email: ({ event, sale, shopper }) => {
    const deadline = moment(event.paymentDeadline);
    const greeting = shopper.name ? `Hello ${shopper.name},` : 'Hello,';
    const lines = [
      greeting,
      '',
      `your order ${event.orderId} is confirmed: the stock is reserved for you.`,
      '',
      `Item:     ${sale.name}`,
      `Quantity: ${event.quantity}`,
      `Amount:   ${money(event.amount)}`,
      `Pay by:   ${deadline}`,
      '',
      'Unpaid orders are cancelled after the deadline and the stock goes back on sale.',
    ];
    const row = (label: string, value: string): string =>
      `<tr><th align="left">${label}</th><td>${escapeHtml(value)}</td></tr>`;
    return {
      subject: `Order ${event.orderId} confirmed: pay by ${deadline}`,
      text: lines.join('\n'),
      html: [
        `<p>${escapeHtml(greeting)}</p>`,
        `<p>your order <strong>${escapeHtml(event.orderId)}</strong> is confirmed: the stock is reserved for you.</p>`,
        '<table>',
        row('Item', sale.name),
        row('Quantity', String(event.quantity)),
        row('Amount', money(event.amount)),
        row('Pay by', deadline),
        '</table>',
        '<p>Unpaid orders are cancelled after the deadline and the stock goes back on sale.</p>',
      ].join('\n'),
    };
  },
  sms: ({ event, sale }) => ({
    text:
      `Order ${event.orderId} confirmed: ${event.quantity} x ${sale.name}, ${money(event.amount)}. ` +
      `Pay by ${moment(event.paymentDeadline)}.`,
  }),
};
