import { Inject, Injectable } from '@nestjs/common';
import { BotsService, joinRefused } from '../bots/bots.service.js';
import { HttpConfig, PaymentConfig, RoomConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { antiBotOf } from '../sales/anti-bot-settings.js';
import { SaleLookup, type SaleWithStock } from '../sales/sale-lookup.js';
import { RoomMetrics } from './room.metrics.js';
import { roomSale, type RoomSale } from './room-sale.js';
import { GONE_AFTER_MS, queueTerms, type QueueTerms } from './room-terms.js';
import { RoomTokens, type QueueMemo } from './room-tokens.js';
import { RoomStore, type Place } from './room.store.js';

/** The answer of the queue routes. */
export interface QueueView extends QueueTerms {
  /** When the sale starts selling (the countdown). */
  startsAt: Date;
  /** Once admitted: the token to buy with (header Admission-Token) and until when it holds. */
  admission: { token: string; expiresAt: Date } | null;
  /** Send it back in the Queue-Token header of the next poll: a poll before refreshAfterSeconds is answered from it. */
  queueToken: string | null;
}

/** What the room knows of the request beyond the shopper (client address and headers, for the anti-bot screen). */
export interface JoinContext {
  ip: string;
  /** The request's headers: the anti-bot screen reads Join-Proof and Device-Id. */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * The shopper's side of a sale's waiting room: join (idempotent), their place,
 * leave. One script call per request on the sale's slot; a poll made before
 * its refresh time is answered from the shopper's queue token, without Redis.
 */
@Injectable()
export class RoomService {
  /** The room of each sale object the lookup's cache holds: built once per object, not per request. */
  private readonly rooms = new WeakMap<SaleWithStock, RoomSale | null>();

  constructor(
    @Inject(RoomStore) private readonly store: RoomStore,
    @Inject(RoomTokens) private readonly tokens: RoomTokens,
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(RoomMetrics) private readonly metrics: RoomMetrics,
    @Inject(RoomConfig) private readonly config: RoomConfig,
    @Inject(PaymentConfig) private readonly payment: PaymentConfig,
    @Inject(HttpConfig) private readonly http: HttpConfig,
    @Inject(BotsService) private readonly bots: BotsService,
  ) {}

  /**
   * Joins the queue. A room with anti-bot rules screens the identity first
   * (BotsService.screen: the proof of work, the caps): refused, it gets 403
   * JOIN_REFUSED; shadowed, it joins the shadow queue and sees an ordinary place.
   */
  async join(saleId: string, userId: string, context: JoinContext): Promise<QueueView> {
    return this.joinIn(await this.roomOf(saleId), userId, context);
  }

  /** Joins a room already looked up (see join). */
  async joinIn(sale: RoomSale, userId: string, context: JoinContext): Promise<QueueView> {
    if (Date.now() >= sale.endsAt) throw queueClosed();
    this.ready();
    const screened = await this.bots.screen({
      saleId: sale.id,
      userId,
      endsAt: sale.endsAt,
      ip: context.ip,
      headers: context.headers,
      settings: antiBotOf(sale.room.antiBot),
    });
    if (screened.verdict === 'refuse') throw joinRefused(screened.reason);
    const place = await this.store.join(sale, userId, GONE_AFTER_MS, screened.verdict === 'shadow');
    switch (place.state) {
      case 'closed':
        throw queueClosed();
      case 'full':
        throw new DomainError('QUEUE_FULL', 'The queue is full; try again shortly', undefined, this.retryAfter(30));
      case 'not_open':
        throw new DomainError('QUEUE_NOT_OPEN', 'The queue is not open yet; it opens before the sale starts');
    }
    this.metrics.joined(sale.id);
    return this.view(sale, userId, place);
  }

  async place(saleId: string, userId: string, queueToken?: string): Promise<QueueView> {
    return this.placeIn(await this.roomOf(saleId), userId, queueToken);
  }

  /**
   * My place in a room already looked up. A poll made before its refresh time
   * is answered from the queue token at once (no promise); any other asks Redis.
   * Throws (or rejects) as `place` does: UNAVAILABLE when Redis is out of reach.
   */
  placeIn(sale: RoomSale, userId: string, queueToken?: string): QueueView | Promise<QueueView> {
    const now = Date.now();
    if (now >= sale.endsAt) return this.closed(sale);
    const memo = queueToken ? this.tokens.readQueueToken(queueToken, sale.id, userId) : null;
    if (memo && now < memo.refreshAt && (memo.state === 'waiting' || memo.state === 'prequeue')) {
      this.metrics.polled(sale.id, 'token');
      const elapsed = (now - memo.at) / 1000;
      return {
        state: memo.state,
        position: memo.position,
        estimatedWaitSeconds: {
          low: Math.max(0, Math.floor(memo.low - elapsed)),
          high: Math.max(0, Math.ceil(memo.high - elapsed)),
        },
        refreshAfterSeconds: Math.max(1, Math.ceil((memo.refreshAt - now) / 1000)),
        queueLength: memo.queueLength,
        admitPerSecond: memo.admitPerSecond,
        startsAt: new Date(sale.startsAt),
        admission: null,
        queueToken: queueToken ?? null,
      };
    }
    this.ready();
    this.metrics.polled(sale.id, 'redis');
    return this.store.poll(sale, userId, GONE_AFTER_MS).then((place) => this.view(sale, userId, place, memo));
  }

  async leave(saleId: string, userId: string): Promise<QueueView> {
    const sale = await this.roomOf(saleId);
    this.ready();
    await this.store.leave(sale.id, userId);
    return this.view(sale, userId, {
      state: 'none',
      room: { now: Date.now(), waiting: 0, measuredRate: 0, rateNow: null, soldOut: false },
    });
  }

  /** The sale with its room: 404 SALE_NOT_FOUND, 409 NO_WAITING_ROOM. */
  async roomOf(saleId: string): Promise<RoomSale> {
    const sale = await this.sales.find(saleId);
    if (!sale) throw new DomainError('SALE_NOT_FOUND', 'No such sale');
    const room = this.roomSaleOf(sale);
    if (!room) throw new DomainError('NO_WAITING_ROOM', 'This sale has no waiting room: buy directly');
    return room;
  }

  /** Whether joining this room screens the shopper (anti-bot rules on): the screen reads the request's address and headers. */
  screens(sale: RoomSale): boolean {
    return antiBotOf(sale.room.antiBot).mode !== 'off';
  }

  /** The sale's room when this process has the sale cached (no wait, no error), else null. */
  cachedRoom(saleId: string): RoomSale | null {
    const sale = this.sales.cached(saleId);
    return sale ? this.roomSaleOf(sale) : null;
  }

  /** roomSale of a sale, kept per sale object (the lookup's cache hands out the same object until it refreshes). */
  private roomSaleOf(sale: SaleWithStock): RoomSale | null {
    let room = this.rooms.get(sale);
    if (room === undefined) {
      room = roomSale(sale, this.payment.PAYMENT_WINDOW_SECONDS);
      this.rooms.set(sale, room);
    }
    return room;
  }

  private view(sale: RoomSale, userId: string, place: Place, memo?: QueueMemo | null): QueueView {
    const terms = queueTerms({
      place,
      startsAt: sale.startsAt,
      claimSeconds: sale.room.claimSeconds,
      configuredRate:
        sale.room.admitPerSecond === 'auto' ? this.config.ROOM_DEFAULT_ADMIT_PER_SECOND : sale.room.admitPerSecond,
      memo,
      jitter: Math.random(),
    });
    const admission =
      place.state === 'admitted'
        ? {
            token: this.tokens.admissionToken({
              saleId: sale.id,
              userId,
              issuedAt: place.issuedAt,
              expiresAt: place.expiresAt,
            }),
            expiresAt: new Date(place.expiresAt),
          }
        : null;
    const now = place.room.now;
    const queueToken =
      terms.state === 'waiting' || terms.state === 'prequeue'
        ? this.tokens.queueToken(sale.id, userId, {
            state: terms.state,
            position: terms.position,
            low: terms.estimatedWaitSeconds.low,
            high: terms.estimatedWaitSeconds.high,
            queueLength: terms.queueLength,
            admitPerSecond: terms.admitPerSecond,
            refreshAt: now + terms.refreshAfterSeconds * 1000,
            at: now,
          })
        : null;
    // In the DTO's order, as the answer from the queue token (queueViewJson writes it in this order).
    return {
      state: terms.state,
      position: terms.position,
      estimatedWaitSeconds: terms.estimatedWaitSeconds,
      refreshAfterSeconds: terms.refreshAfterSeconds,
      queueLength: terms.queueLength,
      admitPerSecond: terms.admitPerSecond,
      startsAt: new Date(sale.startsAt),
      admission,
      queueToken,
    };
  }

  private closed(sale: RoomSale): QueueView {
    return this.view(sale, '', {
      state: 'closed',
      room: { now: Date.now(), waiting: 0, measuredRate: 0, rateNow: null, soldOut: false },
    });
  }

  /** Redis out of reach: 503 at once, nothing waits for a reconnect. */
  private ready(): void {
    if (!this.store.connected) {
      throw new DomainError(
        'UNAVAILABLE',
        'The waiting room is briefly unavailable; your place is kept. Try again shortly',
        undefined,
        this.retryAfter(this.http.RETRY_AFTER_SECONDS),
      );
    }
  }

  private retryAfter(seconds: number): Record<string, string> {
    // Jitter spreads the crowd's retries.
    return { 'retry-after': String(seconds + Math.floor(Math.random() * Math.max(1, seconds / 2))) };
  }
}

function queueClosed(): DomainError {
  return new DomainError('QUEUE_CLOSED', 'The sale has ended or sold out: the queue takes nobody new');
}
