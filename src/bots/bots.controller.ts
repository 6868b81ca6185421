import { Controller, Get, Inject, Param, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { CurrentUser } from '../auth/auth.decorators.js';
import type { AuthUser } from '../auth/auth.types.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { antiBotOf } from '../sales/anti-bot-settings.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { effectiveEnd } from '../sales/sale-status.js';
import { waitingRoomOf } from '../sales/waiting-room.js';
import { BotsService, type ChallengeView } from './bots.service.js';

/** The proof-of-work challenge of a sale's waiting room, for signed-in shoppers. */
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
  async challenge(
    @Param('id') saleId: string,
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
