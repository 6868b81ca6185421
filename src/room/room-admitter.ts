import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GateLayout } from '../gate/gate-layout.js';
import { GateReadModel } from '../gate/gate-read-model.js';
import { PaymentConfig, RoomConfig } from '../infra/config/app-config.js';
import { JobName } from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { SaleCatalog } from '../sales/sale-catalog.js';
import { RoomMetrics } from './room.metrics.js';
import { RoomRates } from './room-rates.js';
import { roomSale, type RoomSale } from './room-sale.js';
import { RoomStore } from './room.store.js';
import { ShedGrace } from './shed-grace.js';

/** How often the list of rooms is read from Postgres (ms). */
const ROOMS_REFRESH_MS = 2000;
/** A room is deleted this long after its sale stopped selling. */
const KEEP_AFTER_END_MS = 10 * 60_000;
/** Most shoppers let in by one turn of one room. */
const MAX_PER_TURN = 5000;

/**
 * The admitter, in every worker that serves the promotions queue: each
 * ROOM_TICK_MS it gives every open room one turn (TICK_LUA). The turn takes
 * the room's lease first, so one copy at a time admits for a room; another
 * takes over ROOM_LEASE_MS after the holder died. A turn that runs twice
 * (two copies around a lease expiry) admits nothing twice: the admissions are
 * popped from the queue in the same script.
 */
@Injectable()
export class RoomAdmitter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('RoomAdmitter');
  private readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private rooms: RoomSale[] = [];
  private roomsAt = 0;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly rebuildAsked = new Map<string, number>();
  private lastError = 0;

  constructor(
    @Inject(RoomStore) private readonly store: RoomStore,
    @Inject(SaleCatalog) private readonly sales: SaleCatalog,
    @Inject(GateReadModel) private readonly gate: GateReadModel,
    @Inject(GateLayout) private readonly layout: GateLayout,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(RoomRates) private readonly rates: RoomRates,
    @Inject(ShedGrace) private readonly grace: ShedGrace,
    @Inject(RoomMetrics) private readonly metrics: RoomMetrics,
    @Inject(RoomConfig) private readonly config: RoomConfig,
    @Inject(PaymentConfig) private readonly payment: PaymentConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  /** Stops after the turn under way, waiting for it at most 2 s (a turn stuck on a Redis outage must not hold the exit). */
  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.running, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.turn()
        .catch((err: unknown) => this.warn(`turn failed: ${String(err)}`))
        .finally(() => this.schedule());
    }, this.config.ROOM_TICK_MS);
    this.timer.unref();
  }

  /** One turn of every room (exposed for tests). */
  async turn(): Promise<void> {
    const now = Date.now();
    if (now - this.roomsAt >= ROOMS_REFRESH_MS) {
      const sales = await this.sales.rooms(this.config.ROOM_PREQUEUE_LEAD_SECONDS * 1000 + 60_000, KEEP_AFTER_END_MS);
      const rooms: RoomSale[] = [];
      for (const sale of sales) {
        const room = roomSale({ ...sale, available: 0 }, this.payment.PAYMENT_WINDOW_SECONDS);
        if (room) rooms.push(room);
      }
      this.rooms = rooms;
      this.roomsAt = now;
    }
    if (this.rooms.length === 0) return;
    // Seconds in which the doors shed polls are not the waiters' silence (one read of the doors a second).
    const graceMs = await this.grace.graceMs(now);
    await Promise.all(this.rooms.map((room) => this.turnOf(room, now, graceMs)));
  }

  private async turnOf(room: RoomSale, now: number, graceMs: number): Promise<void> {
    if (now >= room.endsAt + KEEP_AFTER_END_MS - ROOMS_REFRESH_MS) {
      await this.store.remove(room.id);
      this.metrics.forget(room.id);
      this.rates.forget(room.id);
      return;
    }
    // One bucket: the turn reads the units left itself (never stale); several: their sum, read just before.
    const buckets = await this.layout.bucketsOf(room.id);
    const remaining = buckets === 1 ? 'gate' : await this.gate.remaining(room.id);
    const rate = await this.rates.rateFor(room, now);
    const result = await this.store.tick(room, {
      owner: this.owner,
      remaining,
      rate,
      maxPerTurn: MAX_PER_TURN,
      graceMs,
    });
    if (result.status !== 'LEASED' && result.remaining === -2 && now >= room.startsAt && now < room.endsAt) {
      this.askRebuild(room.id, now);
    }
    this.metrics.turn(room.id, rate, result);
  }

  /** The sale is open and its gate missing (Redis lost its data): a worker rebuilds it from the orders of record. */
  private askRebuild(saleId: string, now: number): void {
    if (now - (this.rebuildAsked.get(saleId) ?? 0) < 5000) return;
    this.rebuildAsked.set(saleId, now);
    const slot = Math.floor(now / 5000);
    void this.queues
      .enqueue(JobName.PreheatSale, { saleId }, { jobId: `rebuild-${saleId}-${slot}` })
      .catch((err: unknown) => this.warn(`sale ${saleId}: gate rebuild not requested: ${String(err)}`));
  }

  private warn(message: string): void {
    // One line per 5 s at most: a Redis outage fails every turn.
    if (Date.now() - this.lastError < 5000) return;
    this.lastError = Date.now();
    this.logger.warn(message);
  }
}
