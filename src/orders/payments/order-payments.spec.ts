import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { AuthUser } from '../../auth/auth.types.js';
import { OutboxWriter } from '../../events/outbox.js';
import type { Order } from '../../generated/prisma/client.js';
import type { Tx } from '../../infra/prisma/prisma.service.js';
import { newTestService, type Mocked } from '../../testing/new-test-service.js';
import { OrderStatusPublisher } from '../order-status.js';
import { OrdersRepository, type OrderRow, type PaymentView } from '../orders.repository.js';
import { PaymentDeadlines } from '../payment-deadlines.js';
import { OrderPayments } from './order-payments.service.js';
import { PaymentUnavailable, type ChargeResult, type PaymentProvider } from './payment-provider.js';
import { PaymentMetrics } from './payment.metrics.js';

const ORDER = '01JAAAAAAAAAAAAAAAAAAAAAAA';
const shopper: AuthUser = { id: 'u1', role: 'CUSTOMER' } as AuthUser;
const tx = { tx: true } as unknown as Tx;
const row: OrderRow = { id: ORDER, saleId: 's1', userId: 'u1', quantity: 1, amount: 1000, paymentDeadline: null };
const view = (over: Partial<PaymentView> = {}): PaymentView => ({
  ...row,
  status: 'AWAITING_PAYMENT',
  open: true,
  claimMsLeft: 0,
  ...over,
});
const approved: ChargeResult = { approved: true, reference: 'ch_1' };

/**
 * pay(): the claim (the common case), the poll (another attempt holds the
 * order) and the refund (an approved charge whose order moved on), with the
 * repository, the outbox and the provider replaced.
 */
describe('OrderPayments.pay', () => {
  let payments: OrderPayments;
  let orders: Mocked<OrdersRepository>;
  let outbox: Mocked<OutboxWriter>;
  let status: Mocked<OrderStatusPublisher>;
  let deadlines: Mocked<PaymentDeadlines>;
  let metrics: Mocked<PaymentMetrics>;
  let provider: {
    name: string;
    charge: jest.Mock<PaymentProvider['charge']>;
    refund: jest.Mock<PaymentProvider['refund']>;
  };

  beforeEach(() => {
    provider = { name: 'fake', charge: jest.fn(), refund: jest.fn() };
    // Parameter 3 is the payment provider (an interface token).
    const t = newTestService(OrderPayments, { use: [[3, provider]], env: { PAYMENT_TIMEOUT_MS: '1000' } });
    payments = t.sut;
    orders = t.mock(OrdersRepository);
    outbox = t.mock(OutboxWriter);
    status = t.mock(OrderStatusPublisher);
    deadlines = t.mock(PaymentDeadlines);
    metrics = t.mock(PaymentMetrics);
    orders.transaction.mockImplementation(async (work) => work(tx));
    outbox.write.mockResolvedValue([]);
    status.publish.mockResolvedValue(undefined);
    metrics.waited.mockReturnValue(undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  describe('the claim', () => {
    it('claims for the provider timeout plus the margin, charges with the order-scoped key, records PAID with order.paid', async () => {
      orders.claimPayment.mockResolvedValue(row);
      provider.charge.mockResolvedValue(approved);
      orders.markPaid.mockResolvedValue({ order: row, paidAt: new Date('2026-01-01T00:00:00Z') });

      await expect(payments.pay(ORDER, shopper, 'k1')).resolves.toEqual({ id: ORDER });

      const [id, userId, claim, leaseMs] = orders.claimPayment.mock.calls[0]!;
      expect([id, userId, leaseMs]).toEqual([ORDER, 'u1', 6000]);
      expect(provider.charge).toHaveBeenCalledWith({
        orderId: ORDER,
        userId: 'u1',
        amount: 1000,
        idempotencyKey: `order-${ORDER}-k1`,
      });
      expect(orders.markPaid).toHaveBeenCalledWith(tx, ORDER, claim, {
        id: expect.any(String),
        provider: 'fake',
        idempotencyKey: `order-${ORDER}-k1`,
        reference: 'ch_1',
      });
      const [, events] = outbox.write.mock.calls[0]!;
      expect(events).toEqual([
        {
          type: 'order.paid',
          aggregateId: ORDER,
          payload: expect.objectContaining({ orderId: ORDER, amount: 1000, paidAt: '2026-01-01T00:00:00.000Z' }),
        },
      ]);
      expect(status.publish).toHaveBeenCalledWith([{ orderId: ORDER, status: 'PAID' }]);
      expect(metrics.waited).not.toHaveBeenCalled();
    });

    it('without an Idempotency-Key the provider key is order-<id>', async () => {
      orders.claimPayment.mockResolvedValue(row);
      provider.charge.mockResolvedValue(approved);
      orders.markPaid.mockResolvedValue({ order: row, paidAt: new Date() });
      await payments.pay(ORDER, shopper);
      expect(provider.charge.mock.calls[0]![0].idempotencyKey).toBe(`order-${ORDER}`);
    });

    it('declined: the claim is given back, 402 PAYMENT_DECLINED, nothing recorded', async () => {
      orders.claimPayment.mockResolvedValue(row);
      provider.charge.mockResolvedValue({ approved: false, reason: 'card expired' });
      orders.releasePaymentClaim.mockResolvedValue({ due: false });
      await expect(payments.pay(ORDER, shopper)).rejects.toMatchObject({
        code: 'PAYMENT_DECLINED',
        message: 'The payment was declined: card expired',
      });
      expect(orders.releasePaymentClaim).toHaveBeenCalledWith(ORDER, orders.claimPayment.mock.calls[0]![2]);
      expect(orders.markPaid).not.toHaveBeenCalled();
      expect(deadlines.recheck).not.toHaveBeenCalled();
    });

    it('provider unavailable after the deadline passed: the claim is given back and the expiry asked to run now', async () => {
      orders.claimPayment.mockResolvedValue(row);
      provider.charge.mockRejectedValue(new PaymentUnavailable('503'));
      orders.releasePaymentClaim.mockResolvedValue({ due: true });
      deadlines.recheck.mockResolvedValue(undefined);
      await expect(payments.pay(ORDER, shopper)).rejects.toMatchObject({ code: 'PAYMENT_UNAVAILABLE' });
      expect(deadlines.recheck).toHaveBeenCalledWith(ORDER);
    });

    it('a claim that cannot be given back (Postgres down) still answers the decline: the claim runs out', async () => {
      orders.claimPayment.mockResolvedValue(row);
      provider.charge.mockResolvedValue({ approved: false, reason: 'no funds' });
      orders.releasePaymentClaim.mockRejectedValue(new Error('connection refused'));
      await expect(payments.pay(ORDER, shopper)).rejects.toMatchObject({ code: 'PAYMENT_DECLINED' });
    });
  });

  describe('not claimed: why, or the poll', () => {
    it.each([
      ['no such order', null, 'ORDER_NOT_FOUND'],
      ["another shopper's order", view({ userId: 'u2' }), 'FORBIDDEN'],
      ['a PENDING order (stock not reserved yet)', view({ status: 'PENDING' }), 'ORDER_NOT_PAYABLE'],
      ['an order past its deadline', view({ open: false }), 'ORDER_NOT_PAYABLE'],
      ['a CANCELLED order', view({ status: 'CANCELLED' }), 'ORDER_NOT_PAYABLE'],
    ])('%s: refused, nothing charged', async (_what, found, code) => {
      orders.claimPayment.mockResolvedValue(null);
      orders.findForPayment.mockResolvedValue(found);
      await expect(payments.pay(ORDER, shopper)).rejects.toMatchObject({ code });
      expect(provider.charge).not.toHaveBeenCalled();
    });

    it('already PAID: answered unchanged, nothing charged', async () => {
      orders.claimPayment.mockResolvedValue(null);
      orders.findForPayment.mockResolvedValue(view({ status: 'PAID' }));
      await expect(payments.pay(ORDER, shopper)).resolves.toEqual({ id: ORDER });
      expect(provider.charge).not.toHaveBeenCalled();
    });

    it('another attempt holds the order: polls until its outcome (PAID), counted once as a wait, never charges', async () => {
      orders.claimPayment.mockResolvedValue(null);
      orders.findForPayment
        .mockResolvedValueOnce(view({ claimMsLeft: 1 }))
        .mockResolvedValueOnce(view({ claimMsLeft: 1 }))
        .mockResolvedValueOnce(view({ status: 'PAID' }));
      await expect(payments.pay(ORDER, shopper)).resolves.toEqual({ id: ORDER });
      expect(orders.claimPayment).toHaveBeenCalledTimes(3);
      expect(metrics.waited).toHaveBeenCalledTimes(1);
      expect(provider.charge).not.toHaveBeenCalled();
    });

    it("the other attempt's claim ended (declined): this one claims next and charges", async () => {
      orders.claimPayment.mockResolvedValueOnce(null).mockResolvedValueOnce(row);
      orders.findForPayment.mockResolvedValueOnce(view({ claimMsLeft: 1 }));
      provider.charge.mockResolvedValue(approved);
      orders.markPaid.mockResolvedValue({ order: row, paidAt: new Date() });
      await expect(payments.pay(ORDER, shopper)).resolves.toEqual({ id: ORDER });
      expect(provider.charge).toHaveBeenCalledTimes(1);
    });

    it('gives up after twice the claim lease: 409, a payment is under way', async () => {
      let now = 1_000_000;
      jest.spyOn(Date, 'now').mockImplementation(() => now);
      orders.claimPayment.mockResolvedValue(null);
      orders.findForPayment.mockImplementation(async () => {
        now += 5000; // each look comes 5 s later; the lease is 6 s, the patience 12 s
        return view({ claimMsLeft: 1 });
      });
      await expect(payments.pay(ORDER, shopper)).rejects.toMatchObject({
        code: 'ORDER_NOT_PAYABLE',
        message: 'A payment of this order is under way',
      });
      expect(orders.findForPayment).toHaveBeenCalledTimes(3);
      expect(provider.charge).not.toHaveBeenCalled();
    });
  });

  describe('the refund: approved, but the order moved on while the charge was made', () => {
    beforeEach(() => {
      orders.claimPayment.mockResolvedValue(row);
      provider.charge.mockResolvedValue(approved);
      orders.markPaid.mockResolvedValue(null);
      orders.releasePaymentClaim.mockResolvedValue(null);
      orders.recordRefund.mockResolvedValue(undefined);
    });

    it('cancelled meanwhile: refunded through the provider, recorded REFUNDED, 409 saying so', async () => {
      orders.paymentKeyOf.mockResolvedValue(null);
      provider.refund.mockResolvedValue(undefined);
      orders.findById.mockResolvedValue({ status: 'CANCELLED' } as Order);
      await expect(payments.pay(ORDER, shopper)).rejects.toMatchObject({
        code: 'ORDER_NOT_PAYABLE',
        message: 'The order was cancelled while the payment was being made; this charge has been refunded',
      });
      expect(provider.refund).toHaveBeenCalledWith({
        orderId: ORDER,
        userId: 'u1',
        amount: 1000,
        idempotencyKey: `order-${ORDER}`,
        reference: 'ch_1',
      });
      expect(orders.recordRefund).toHaveBeenCalledWith(
        expect.objectContaining({ orderId: ORDER, status: 'REFUNDED', lastError: null, reference: 'ch_1' }),
      );
      expect(orders.releasePaymentClaim).toHaveBeenCalled();
      expect(outbox.write).not.toHaveBeenCalled();
    });

    it('the refund fails: recorded REFUND_PENDING with the error, for a person; 409 says it will be refunded', async () => {
      orders.paymentKeyOf.mockResolvedValue(null);
      provider.refund.mockRejectedValue(new Error('refund answered 500'));
      orders.findById.mockResolvedValue({ status: 'CANCELLED' } as Order);
      await expect(payments.pay(ORDER, shopper)).rejects.toThrow(/this charge will be refunded$/);
      expect(orders.recordRefund).toHaveBeenCalledWith(
        expect.objectContaining({ status: 'REFUND_PENDING', lastError: 'refund answered 500' }),
      );
    });

    it('paid by another attempt with another key: refunded, and the message names the other payment', async () => {
      orders.paymentKeyOf.mockResolvedValue(`order-${ORDER}-other`);
      provider.refund.mockResolvedValue(undefined);
      orders.findById.mockResolvedValue({ status: 'PAID' } as Order);
      await expect(payments.pay(ORDER, shopper)).rejects.toThrow(
        'Another payment of the order took over while this one was being made; this charge has been refunded',
      );
    });

    it('recorded by a twin attempt with the same key (the same charge): answered as paid, nothing refunded', async () => {
      orders.paymentKeyOf.mockResolvedValue(`order-${ORDER}`);
      await expect(payments.pay(ORDER, shopper)).resolves.toEqual({ id: ORDER });
      expect(provider.refund).not.toHaveBeenCalled();
      expect(orders.recordRefund).not.toHaveBeenCalled();
    });
  });
});
