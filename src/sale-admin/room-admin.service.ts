import { Inject, Injectable } from '@nestjs/common';
import { BotsService, type BotStats } from '../bots/bots.service.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { roomFigures, RoomStore, type RoomFigures } from '../room/room.store.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { effectiveEnd } from '../sales/sale-status.js';
import { waitingRoomOf, type WaitingRoom } from '../sales/waiting-room.js';

/** A sale's waiting room as the admin sees it (GET /admin/sales/:id/room). */
export interface RoomReport extends RoomFigures {
  saleId: string;
  settings: WaitingRoom;
  /** upcoming (pre-queue), open (admitting), paused, sold_out (waiters keep their place for returns), ended */
  state: 'upcoming' | 'open' | 'paused' | 'sold_out' | 'ended';
  /** Identities shadowed by the anti-bot rules (shown a place, never let in). */
  shadowed: number;
  /** Since the room opened: joined, admitted, used, lapsed, left, gone, ended, shadowed. */
  counters: Record<string, number>;
  /**
   * The anti-bot screen: identities shadowed and refused by reason (address, network, device, burst, age),
   * what `log` mode would have done, and the proofs this API process checked with the CPU they took.
   */
  bots: BotStats;
}

@Injectable()
export class RoomAdminService {
  constructor(
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(RoomStore) private readonly store: RoomStore,
    @Inject(BotsService) private readonly bots: BotsService,
  ) {}

  async report(saleId: string): Promise<RoomReport> {
    const sale = await this.sales.findFresh(saleId);
    if (!sale) throw new DomainError('SALE_NOT_FOUND', 'No such sale');
    const settings = waitingRoomOf(sale.waitingRoom);
    if (!settings) throw new DomainError('NO_WAITING_ROOM', 'This sale has no waiting room');
    const [s, bots] = await Promise.all([this.store.stats(sale.id), this.bots.stats(sale.id)]);
    const now = new Date();
    return {
      saleId: sale.id,
      settings,
      state:
        now >= effectiveEnd(sale)
          ? 'ended'
          : now < sale.startsAt
            ? 'upcoming'
            : s.soldOut
              ? 'sold_out'
              : settings.paused
                ? 'paused'
                : 'open',
      ...roomFigures(s),
      shadowed: s.shadowed,
      counters: s.counters,
      bots,
    };
  }
}
