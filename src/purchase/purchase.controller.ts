import { Body, Controller, Headers, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { AdmissionService, type Admitted } from './admission.service.js';
import { checkIdempotencyKey } from '../infra/http/idempotency-key.js';
import { PurchaseDto } from './dto/purchase.dto.js';

@Controller('sales')
export class PurchaseController {
  constructor(@Inject(AdmissionService) private readonly admission: AdmissionService) {}

  /**
   * Buy: 202 {orderId, status: QUEUED} once the gate admits; the order is
   * persisted by a worker moments later (follow it on /orders/:id/events).
   */
  @Post(':id/orders')
  @HttpCode(202)
  purchase(
    @Param('id') saleId: string,
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
