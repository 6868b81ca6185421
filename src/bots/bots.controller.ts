import { Controller, Get, Inject, Req } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { SaleId } from '../infra/http/id-params.js';
import { Answers } from '../infra/openapi/answers.js';
import { EXAMPLE } from '../infra/openapi/examples.js';
import { antiBotOf } from '../sales/anti-bot-settings.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { effectiveEnd } from '../sales/sale-status.js';
import { waitingRoomOf } from '../sales/waiting-room.js';
import { ChallengeViewDto, DEVICE_ID_HEADER } from './bot-views.dto.js';
import { BotsService, type ChallengeView } from './bots.service.js';

/** The proof-of-work challenge of a sale's waiting room, for signed-in shoppers. */
@ApiTags('storefront')
@Controller('sales')
export class BotsController {
  constructor(
    @Inject(BotsService) private readonly bots: BotsService,
    @Inject(SaleLookup) private readonly sales: SaleLookup,
  ) {}

  /**
   * A challenge to solve before joining the queue (send `<challenge>:<n>` in
   * the Join-Proof header of the join); `{ required: false }` when the sale's
   * room asks for none. Rate-limited per client address.
   */
  @Get(':id/queue/challenge')
  @Answers({
    status: 200,
    body: ChallengeViewDto,
    example: {
      required: true,
      challenge:
        'mhe3k1r4.0.16jdc.kQ3v8Zt1LwX0c8Yp.9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.Xq3u9bQ0mLw2c1Zr7TtYhA',
      algorithm: 'SHA-256',
      salt: 'kQ3v8Zt1LwX0c8Yp',
      hash: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      maxNumber: 2000000,
      tier: 0,
      expiresAt: EXAMPLE.later,
    },
    errors: ['SALE_NOT_FOUND', 'NO_WAITING_ROOM', 'RATE_LIMITED', 'UNAVAILABLE'],
    headers: [DEVICE_ID_HEADER],
  })
  async challenge(
    @SaleId() saleId: string,
    @CurrentUser() user: AuthUser,
    @Req() request: FastifyRequest,
  ): Promise<ChallengeView> {
    const sale = await this.sales.find(saleId);
    if (!sale) throw new DomainError('SALE_NOT_FOUND', 'No such sale');
    const room = waitingRoomOf(sale.waitingRoom);
    if (!room) throw new DomainError('NO_WAITING_ROOM', 'This sale has no waiting room: buy directly');
    return this.bots.challenge({
      saleId: sale.id,
      userId: user.id,
      endsAt: effectiveEnd(sale).getTime(),
      ip: request.ip,
      headers: request.headers,
      settings: antiBotOf(room.antiBot),
    });
  }
}
