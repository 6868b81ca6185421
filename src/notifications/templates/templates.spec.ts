import { describe, expect, it } from '@jest/globals';
import { EVENT_CONSUMERS, EventName, QueueName } from '../../infra/queues/queues.js';
import { money } from './format.js';
import { orderCancelled } from './order-cancelled.template.js';
import { orderConfirmed } from './order-confirmed.template.js';
import { orderPaid } from './order-paid.template.js';
import { NOTIFIED_EVENTS } from './templates.js';

const ctx = {
  event: {
    orderId: '01JD0000000000000000000000',
    saleId: 'a6f1c2d0-0000-4000-8000-000000000000',
    userId: 'b6f1c2d0-0000-4000-8000-000000000000',
    quantity: 2,
    amount: 123456,
    paymentDeadline: '2026-11-21T12:15:30.000Z',
  },
  order: {
    id: '01JD0000000000000000000000',
    quantity: 2,
    amount: 123456,
    status: 'AWAITING_PAYMENT',
    paymentDeadline: null,
  },
  shopper: { email: 'a@example.test', phone: '+14155550100', name: '<Ann>' },
  sale: { id: 'a6f1c2d0-0000-4000-8000-000000000000', name: 'Tea & <cups>' },
};

describe('notification templates', () => {
  it('order.confirmed: order id, item, quantity, amount and deadline in both bodies, HTML escaped', () => {
    const email = orderConfirmed.email!(ctx);
    for (const body of [email.text, email.html]) {
      expect(body).toContain(ctx.event.orderId);
      expect(body).toContain('1,234.56');
      expect(body).toContain('2026-11-21 12:15 UTC');
    }
    expect(email.text).toContain('Tea & <cups>');
    expect(email.html).toContain('Tea &amp; &lt;cups&gt;');
    expect(email.html).not.toContain('<Ann>');
    expect(email.subject).toContain(ctx.event.orderId);
    const sms = orderConfirmed.sms!(ctx);
    expect(sms.text).toBe(
      `Order ${ctx.event.orderId} confirmed: 2 x Tea & <cups>, 1,234.56. Pay by 2026-11-21 12:15 UTC.`,
    );
  });

  it('order.paid: a receipt by email only', () => {
    const event = { ...ctx.event, paymentId: '01JD0000000000000000000001', paidAt: '2026-11-21T12:05:00.000Z' };
    const email = orderPaid.email!({ ...ctx, event });
    expect(email.subject).toBe(`Receipt for order ${ctx.event.orderId}: 1,234.56 paid`);
    expect(email.text).toContain('01JD0000000000000000000001');
    expect(email.html).toContain('Tea &amp; &lt;cups&gt;');
    expect(orderPaid.sms).toBeUndefined();
  });

  it('order.cancelled: email and SMS say why', () => {
    const timeout = { ...ctx, event: { ...ctx.event, reason: 'timeout' as const } };
    const requested = { ...ctx, event: { ...ctx.event, reason: 'requested' as const } };
    expect(orderCancelled.sms!(timeout).text).toBe(
      `Order ${ctx.event.orderId} cancelled (2 x Tea & <cups>): it was not paid by its payment deadline.`,
    );
    expect(orderCancelled.sms!(requested).text).toContain('cancelled at your request');
    const email = orderCancelled.email!(timeout);
    expect(email.subject).toBe(`Order ${ctx.event.orderId} cancelled`);
    expect(email.text).toContain('not paid by its payment deadline');
    expect(email.html).not.toContain('<cups>');
  });

  it('every event routed to the notifications queue has a template, and only those', () => {
    const routed = Object.values(EventName).filter((e) => EVENT_CONSUMERS[e].includes(QueueName.Notifications));
    expect([...NOTIFIED_EVENTS].sort()).toEqual(routed.sort());
  });

  it('formats minor units', () => {
    expect(money(0)).toBe('0.00');
    expect(money(5)).toBe('0.05');
    expect(money(100_000_000)).toBe('1,000,000.00');
  });
});
