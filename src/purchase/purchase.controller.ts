import { Body, Controller, Headers, HttpCode, Inject, Post, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { AdmissionService, type Admitted } from './admission.service.js';
import { SaleId } from '../infra/http/id-params.js';
import { checkIdempotencyKey } from '../infra/http/idempotency-key.js';
import { Answers } from '../infra/openapi/answers.js';
import { EXAMPLE } from '../infra/openapi/examples.js';
import { AdmittedDto } from './dto/admitted.dto.js';
import { PurchaseDto } from './dto/purchase.dto.js';

@ApiTags('orders')
@Controller('sales')
export class PurchaseController {
  constructor(@Inject(AdmissionService) private readonly admission: AdmissionService) {}

  /**
   * Buy: 202 {orderId, status: QUEUED} once the gate admits; the order is
   * persisted by a worker moments later (follow it on /orders/:id/events).
   */
  @Post(':id/orders')
  @HttpCode(202)
  @Answers({
    status: 202,
    body: AdmittedDto,
    example: { orderId: EXAMPLE.orderId, status: 'QUEUED' },
    errors: [
      'SOLD_OUT',
      'LIMIT_EXCEEDED',
      'SALE_NOT_ACTIVE',
      'RATE_LIMITED',
      'BUSY',
      'GATE_NOT_READY',
      'UNAVAILABLE',
      'OUTCOME_UNKNOWN',
      'SALE_NOT_FOUND',
      'ADMISSION_REQUIRED',
      'ADMISSION_INVALID',
      'ADMISSION_USED',
    ],
    headers: [
      {
        name: 'Admission-Token',
        description:
          'On a sale with a waiting room: the admission from GET /sales/{id}/queue (state admitted). It buys once; without it 403 ADMISSION_REQUIRED.',
      },
    ],
    idempotencyKey:
      'The same key from the same shopper returns the first admission (202, same order id), also for concurrent replays. Refusals are not stored.',
    requestExample: { quantity: 1 },
  })
  purchase(
    @SaleId() saleId: string,
    @Body() dto: PurchaseDto,
    @CurrentUser() user: AuthUser,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Headers('admission-token') admissionToken: string | undefined,
    @Req() request: FastifyRequest,
  ): Promise<Admitted> {
    checkIdempotencyKey(idempotencyKey);
    return this.admission.purchase({
      saleId,
      userId: user.id,
      quantity: dto.quantity,
      ip: request.ip,
      idempotencyKey,
      admissionToken,
    });
  }
}
