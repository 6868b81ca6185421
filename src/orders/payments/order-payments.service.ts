import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AuthUser } from '../../auth/auth.types.js';
import { OutboxWriter } from '../../events/outbox.js';
import { PaymentConfig } from '../../infra/config/app-config.js';
import { DomainError } from '../../infra/errors/domain-error.js';
import { ulidFactory } from '../../infra/ids/ids.js';
import { EventName } from '../../infra/queues/queues.js';
import { orderFacts } from '../order.events.js';
import { OrderStatusPublisher } from '../order-status.js';
import { OrdersRepository, type OrderRow } from '../orders.repository.js';
import { PaymentDeadlines } from '../payment-deadlines.js';
import {
  PAYMENT_PROVIDER,
  PaymentUnavailable,
  type ChargeResult,
  type PaymentProvider,
  type RefundRequest,
} from './payment-provider.js';
import { PaymentMetrics } from './payment.metrics.js';

/**
 * A payment's claim lasts PAYMENT_TIMEOUT_MS (the longest the provider is
 * waited for) plus this, for the record to be written after the answer.
 */
export const CLAIM_MARGIN_MS = 5000;

/** How often a payment waiting for another attempt of the same order looks again. */
export const CLAIM_POLL_MS = 100;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Paying an order: claimed in one conditional UPDATE, charged outside any
 * transaction, recorded where the claim still holds (AWAITING_PAYMENT → PAID
 * with `order.paid`, one short transaction); an approved charge that finds
 * its order gone is refunded. See pay().
 */
@Injectable()
export class OrderPayments {
  private readonly logger = new Logger('OrderPayments');
  private readonly nextId = ulidFactory();

  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(OutboxWriter) private readonly outbox: OutboxWriter,
    @Inject(OrderStatusPublisher) private readonly status: OrderStatusPublisher,
    @Inject(PAYMENT_PROVIDER) private readonly provider: PaymentProvider,
    @Inject(PaymentDeadlines) private readonly deadlines: PaymentDeadlines,
    @Inject(PaymentConfig) private readonly config: PaymentConfig,
    @Inject(PaymentMetrics) private readonly metrics: PaymentMetrics,
  ) {}

  /**
   * Pays an AWAITING_PAYMENT order (owner only), without holding a row lock
   * or a database connection while the provider answers:
   *
   * 1. claim: one conditional UPDATE gives this attempt the caller's order for the
   *    provider's timeout plus a margin (CLAIM_MARGIN_MS); while the
   *    claim lasts no other payment claims it and no cancel (the shopper's or
   *    the timeout's) touches it. A payment that claimed before the deadline
   *    therefore finishes, and the timeout waits for it;
   * 2. charge, outside any transaction, with `order-<id>-<Idempotency-Key>`
   *    (default `order-<id>`);
   * 3. record: AWAITING_PAYMENT → PAID only where this attempt still holds the
   *    claim, with the payment row and `order.paid`, in one short transaction.
   *
   * Declined or unavailable: the claim is given back and nothing changed. A
   * second payment of the same order while one is under way waits for its
   * outcome (PAID: returned unchanged). If the record finds the order
   * cancelled or taken by another attempt (only possible once the claim ran
   * out), the approved charge is refunded through the provider (or recorded
   * REFUND_PENDING for a person) and the answer is 409 ORDER_NOT_PAYABLE.
   */
  async pay(orderId: string, caller: AuthUser, idempotencyKey?: string): Promise<{ id: string }> {
    const leaseMs = this.config.PAYMENT_TIMEOUT_MS + CLAIM_MARGIN_MS;
    const giveUpAt = Date.now() + 2 * leaseMs;
    let waited = false;
    for (;;) {
      // The common case first: the order is the caller's, payable and free.
      const claim = this.nextId();
      const claimed = await this.orders.claimPayment(orderId, caller.id, claim, leaseMs);
      if (claimed) {
        // Scoped to the order: the same client key on two orders must not replay
        // the first order's approval at the provider.
        const key = idempotencyKey ? `order-${orderId}-${idempotencyKey}` : `order-${orderId}`;
        await this.chargeClaimed(claimed, claim, key);
        return { id: orderId };
      }
      // Not claimed: say why, or wait for the payment under way.
      const order = await this.orders.findForPayment(orderId);
      if (!order) throw notFound();
      if (order.userId !== caller.id)
        throw new DomainError('FORBIDDEN', 'Only the shopper who placed the order can pay it');
      if (order.status === 'PAID') return { id: orderId };
      if (order.status !== 'AWAITING_PAYMENT' || !order.open) throw notPayable(order.status, order.open);
      if (Date.now() > giveUpAt) throw new DomainError('ORDER_NOT_PAYABLE', 'A payment of this order is under way');
      // Another attempt holds the order: wait for its outcome (or its claim ended just now: try again).
      if (order.claimMsLeft > 0) {
        if (!waited) this.metrics.waited();
        waited = true;
        await sleep(Math.min(CLAIM_POLL_MS, order.claimMsLeft));
      }
    }
  }

  /** Steps 2 and 3 of pay() for the attempt holding `claim`. */
  private async chargeClaimed(order: OrderRow, claim: string, key: string): Promise<void> {
    const request = { orderId: order.id, userId: order.userId, amount: order.amount, idempotencyKey: key };
    let result: ChargeResult;
    try {
      result = await this.provider.charge(request);
    } catch (err) {
      await this.releaseClaim(order.id, claim);
      if (err instanceof PaymentUnavailable) {
        throw new DomainError('PAYMENT_UNAVAILABLE', 'The payment could not be made; nothing was charged, try again');
      }
      throw err;
    }
    if (!result.approved) {
      await this.releaseClaim(order.id, claim);
      throw new DomainError('PAYMENT_DECLINED', `The payment was declined: ${result.reason}`);
    }
    const paymentId = this.nextId();
    const paid = await this.orders.transaction(async (tx) => {
      const done = await this.orders.markPaid(tx, order.id, claim, {
        id: paymentId,
        provider: this.provider.name,
        idempotencyKey: key,
        reference: result.reference,
      });
      if (!done) return null;
      await this.outbox.write(tx, [
        {
          type: EventName.OrderPaid,
          aggregateId: order.id,
          payload: { ...orderFacts(order), paymentId, paidAt: done.paidAt.toISOString() },
        },
      ]);
      return done;
    });
    if (paid) {
      await this.status.publish([{ orderId: order.id, status: 'PAID' }]);
      return;
    }
    // The claim ran out and the order moved on without this attempt.
    if ((await this.orders.paymentKeyOf(order.id)) === key) return; // the same charge, recorded by a twin attempt
    const refunded = await this.giveBack({ ...request, reference: result.reference });
    await this.releaseClaim(order.id, claim);
    const now = await this.orders.findById(order.id);
    const what =
      now?.status === 'CANCELLED'
        ? 'The order was cancelled while the payment was being made'
        : 'Another payment of the order took over while this one was being made';
    throw new DomainError(
      'ORDER_NOT_PAYABLE',
      `${what}; this charge ${refunded ? 'has been refunded' : 'will be refunded'}`,
    );
  }

  /**
   * Refunds an approved charge whose order was cancelled (or paid by another
   * attempt) meanwhile, through the provider; recorded in payment_refunds as
   * REFUNDED, or REFUND_PENDING (logged as an error) for a person to refund.
   */
  private async giveBack(request: RefundRequest): Promise<boolean> {
    let lastError: string | null = null;
    try {
      await this.provider.refund(request);
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      this.logger.error(
        `order ${request.orderId}: charge ${request.idempotencyKey} (${request.amount}) approved after the order was cancelled; refund failed, left for a person: ${lastError}`,
      );
    }
    await this.orders.recordRefund({
      id: this.nextId(),
      orderId: request.orderId,
      provider: this.provider.name,
      amount: request.amount,
      idempotencyKey: request.idempotencyKey,
      reference: request.reference,
      status: lastError === null ? 'REFUNDED' : 'REFUND_PENDING',
      lastError,
    });
    return lastError === null;
  }

  /**
   * Gives the claim back after a decline, a failure or a refund. When the
   * deadline passed meanwhile (the timeout waited for this attempt), the
   * expiry is asked to run now.
   */
  private async releaseClaim(orderId: string, claim: string): Promise<void> {
    try {
      const released = await this.orders.releasePaymentClaim(orderId, claim);
      if (released?.due) {
        await this.deadlines.recheck(orderId);
      }
    } catch (err) {
      // The claim then simply runs out; the timeout's job waits until then.
      this.logger.warn(`order ${orderId}: payment claim not given back: ${String(err)}`);
    }
  }
}

function notFound(): DomainError {
  return new DomainError('ORDER_NOT_FOUND', 'No such order');
}

function notPayable(status: string, open: boolean): DomainError {
  const why =
    status === 'AWAITING_PAYMENT' && !open
      ? 'its payment deadline has passed'
      : status === 'PENDING'
        ? 'its stock is not reserved yet; try again in a moment'
        : `it is ${status}`;
  return new DomainError('ORDER_NOT_PAYABLE', `The order cannot be paid: ${why}`);
}
