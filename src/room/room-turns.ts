import { Inject, Injectable, Logger } from '@nestjs/common';
import type { GateAdmissionPass } from '../gate/gate-admission.js';
import { PaymentConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { roomSale } from './room-sale.js';
import { RoomTokens } from './room-tokens.js';
import { RoomStore } from './room.store.js';

/**
 * A shopper's turn as the purchase path and the order events see it: the
 * admission a purchase carries, its use, and the end of the turn (order paid
 * or cancelled, purchase refused) that frees the slot for the next shopper.
 */
@Injectable()
export class RoomTurns {
  private readonly logger = new Logger('Room');

  constructor(
    @Inject(RoomStore) private readonly store: RoomStore,
    @Inject(RoomTokens) private readonly tokens: RoomTokens,
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(PaymentConfig) private readonly payment: PaymentConfig,
  ) {}

  /**
   * The admission a purchase carries (header Admission-Token), its signature,
   * shopper, sale and expiry checked here (a few µs, no Redis); whether it was
   * used, and whether the sale needs one, the gate decides in the same call
   * that takes the stock. None sent: undefined. A bad one on a sale with a
   * room: 403 ADMISSION_INVALID (on a sale without one it is ignored).
   */
  async admission(token: string | undefined, saleId: string, userId: string): Promise<GateAdmissionPass | undefined> {
    if (token === undefined || token === '') return undefined;
    const admission = this.tokens.verifyAdmission(token, saleId, userId);
    if (admission) return { key: `${userId}:${admission.issuedAt}`, issuedAt: admission.issuedAt };
    const sale = await this.sales.find(saleId);
    if (sale && sale.waitingRoom === null) return undefined;
    throw new DomainError(
      'ADMISSION_INVALID',
      "This admission is not valid (expired, altered, or another shopper's or sale's): join the queue again",
    );
  }

  /** The admission bought: the shopper stays counted as active until their order is paid or cancelled. */
  used(saleId: string, userId: string): void {
    void this.sales
      .find(saleId)
      .then((sale) => {
        const room = sale && roomSale(sale, this.payment.PAYMENT_WINDOW_SECONDS);
        // The order is persisted moments after the admission: its window starts a little later.
        if (room) return this.store.used(saleId, userId, room.paymentWindowMs + 60_000);
      })
      .catch((err: unknown) => this.logger.warn(`sale ${saleId}: admission use not noted: ${String(err)}`));
  }

  /** The shopper's turn is over: the slot goes to the next in line at the admitter's next turn. */
  async ended(saleId: string, userId: string): Promise<void> {
    await this.store.ended(saleId, userId);
  }

  /** The turns of shoppers whose orders were paid or cancelled (sales without a room are skipped, no Redis). */
  async endAll(turns: { saleId: string; userId: string }[]): Promise<void> {
    const rooms = new Map<string, boolean>();
    for (const { saleId } of turns) {
      if (!rooms.has(saleId)) rooms.set(saleId, ((await this.sales.find(saleId))?.waitingRoom ?? null) !== null);
    }
    await Promise.all(turns.filter((t) => rooms.get(t.saleId)).map((t) => this.store.ended(t.saleId, t.userId)));
  }

  /** As ended, not waited for (a refused purchase): a failure only means the slot frees when it lapses. */
  endSoon(saleId: string, userId: string): void {
    this.ended(saleId, userId).catch((err: unknown) =>
      this.logger.warn(`sale ${saleId}: turn not ended: ${String(err)}`),
    );
  }
}
