import { Controller, Headers, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { OrderId } from '../infra/http/id-params.js';
import { checkIdempotencyKey } from '../infra/http/idempotency-key.js';
import { Answers } from '../infra/openapi/answers.js';
import { ORDER_VIEW_EXAMPLE, OrderViewDto } from './order-views.dto.js';
import { OrderCancellation } from './order-cancellation.service.js';
import { OrderPayments } from './payments/order-payments.service.js';
import { OrdersService, type OrderView } from './orders.service.js';

@ApiTags('orders')
@Controller('orders')
export class OrderLifecycleController {
  constructor(
    @Inject(OrderPayments) private readonly payments: OrderPayments,
    @Inject(OrderCancellation) private readonly cancellation: OrderCancellation,
    @Inject(OrdersService) private readonly orders: OrdersService,
  ) {}

  /**
   * Pays an AWAITING_PAYMENT order (its shopper only): 200 with the order
   * PAID; a PAID order comes back unchanged. 409 ORDER_NOT_PAYABLE when
   * cancelled, failed, past its deadline or not reserved yet; 402
   * PAYMENT_DECLINED; 502 PAYMENT_UNAVAILABLE. `Idempotency-Key` goes to the
   * provider, so a retried payment charges once.
   */
  @Post(':id/pay')
  @HttpCode(200)
  @Answers({
    status: 200,
    body: OrderViewDto,
    example: { ...ORDER_VIEW_EXAMPLE, status: 'PAID', paymentDeadline: null },
    errors: [
      'ORDER_NOT_FOUND',
      'FORBIDDEN',
      'ORDER_NOT_PAYABLE',
      'PAYMENT_DECLINED',
      'PAYMENT_UNAVAILABLE',
      'VALIDATION_FAILED',
    ],
    idempotencyKey: 'Sent to the payment provider, so a retried payment charges once.',
  })
  async pay(
    @OrderId() id: string,
    @CurrentUser() user: AuthUser,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ): Promise<OrderView> {
    checkIdempotencyKey(idempotencyKey);
    const found = await this.orders.get(id, user); // 404 for others, QUEUED for tickets
    if (found.status === 'QUEUED') throw notYet('paid');
    await this.payments.pay(id, user, idempotencyKey);
    return this.orders.get(id, user);
  }

  /**
   * Cancels a PENDING or AWAITING_PAYMENT order (its shopper or an admin): 200
   * with the order CANCELLED (already CANCELLED: unchanged); its stock goes
   * back. 409 ORDER_NOT_CANCELLABLE when PAID, FAILED or not persisted yet.
   */
  @Post(':id/cancel')
  @HttpCode(200)
  @Answers({
    status: 200,
    body: OrderViewDto,
    example: { ...ORDER_VIEW_EXAMPLE, status: 'CANCELLED', failureReason: 'requested', paymentDeadline: null },
    errors: ['ORDER_NOT_FOUND', 'ORDER_NOT_CANCELLABLE'],
  })
  async cancel(@OrderId() id: string, @CurrentUser() user: AuthUser): Promise<OrderView> {
    const found = await this.orders.get(id, user);
    if (found.status === 'QUEUED') throw notYet('cancelled');
    await this.cancellation.cancel(id, user);
    return this.orders.get(id, user);
  }
}

function notYet(what: string): DomainError {
  return new DomainError(
    what === 'paid' ? 'ORDER_NOT_PAYABLE' : 'ORDER_NOT_CANCELLABLE',
    `The order is still being saved; it can be ${what} in a moment`,
  );
}
