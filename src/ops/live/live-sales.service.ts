import { Inject, Injectable } from '@nestjs/common';
import { SaleStatsService, type SaleStats } from '../../orders/sale-stats.service.js';
import { effectiveEnd, saleStatus, type SaleStatus, type SaleTimes } from '../../sales/sale-status.js';
import { SaleCatalog } from '../../sales/sale-catalog.js';
import { DoorsReader, type DoorState } from '../../overload/doors.js';
import { roomFigures, RoomStore, type RoomFigures } from '../../room/room.store.js';

/** A sale worth watching, with what its status needs. */
type WatchedSale = SaleTimes & { id: string; name: string; waitingRoom: unknown };

/** A sale's waiting room in the live view. */
export type LiveRoom = RoomFigures;

/** Sales starting within this long, or ended this long ago, are still shown. */
const AHEAD_MS = 15 * 60_000;
const AFTER_MS = 10 * 60_000;
/** A sample younger than this is reused: one read of the stores per second however many viewers. */
const FRESH_MS = 900;

export interface LiveSale {
  id: string;
  name: string;
  status: SaleStatus;
  startsAt: Date;
  endsAt: Date;
  stock: number;
  /** Units the gate can still admit (the stock before the preheat). */
  remaining: number;
  /** Purchases admitted since the sale began. */
  admitted: number;
  refusals: SaleStats['refusals'];
  /** QUEUED counts admitted tickets not yet persisted. */
  ordersByStatus: SaleStats['ordersByStatus'];
  /** Admitted tickets waiting to become orders. */
  backlog: number;
  /** Per second since the previous sample (0 on the first one). */
  rates: {
    admissions: number;
    refusals: number;
    refusalsByCode: SaleStats['refusals'];
    /** Orders persisted per second: how fast the backlog drains. */
    drain: number;
  };
  /** The sale's waiting room; null when it has none. */
  room: LiveRoom | null;
}

export interface LiveSample {
  at: Date;
  sales: LiveSale[];
  /** Overload control: every API copy's door (limit, in flight, pressure, delays, shed). */
  doors: DoorState[];
}

interface Previous {
  at: number;
  admitted: number;
  refusals: SaleStats['refusals'];
  persisted: number;
}

/** Orders Postgres holds (every status but QUEUED, which counts tickets still in Redis). */
function persisted(stats: SaleStats): number {
  return Object.entries(stats.ordersByStatus).reduce((sum, [status, n]) => (status === 'QUEUED' ? sum : sum + n), 0);
}

/**
 * Figures of the sales worth watching (open now, starting soon, just ended),
 * with rates computed from successive samples. Read through SaleStatsService
 * (gate counters in Redis, orders in Postgres), at most once per second per
 * API process: the live view's stream and the metrics scrape share samples.
 */
@Injectable()
export class LiveSalesService {
  private last?: { at: number; sample: LiveSample };
  private pending?: Promise<LiveSample>;
  private readonly previous = new Map<string, Previous>();

  constructor(
    @Inject(SaleCatalog) private readonly catalog: SaleCatalog,
    @Inject(SaleStatsService) private readonly stats: SaleStatsService,
    @Inject(DoorsReader) private readonly doors: DoorsReader,
    @Inject(RoomStore) private readonly rooms: RoomStore,
  ) {}

  /** The latest sample, taken now when the last one is older than a second. */
  current(): Promise<LiveSample> {
    if (this.last && Date.now() - this.last.at < FRESH_MS) return Promise.resolve(this.last.sample);
    this.pending ??= this.take().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async take(): Promise<LiveSample> {
    const doors = this.doors.read().catch(() => []);
    const sales = await this.catalog.watched(AHEAD_MS, AFTER_MS);
    const [figures, rooms] = await Promise.all([
      Promise.all(sales.map((sale) => this.stats.stats(sale.id).catch(() => null))),
      Promise.all(
        sales.map((sale) => (sale.waitingRoom === null ? Promise.resolve(null) : this.room(sale.id).catch(() => null))),
      ),
    ]);
    const now = Date.now();
    const live: LiveSale[] = [];
    sales.forEach((sale, i) => {
      const stats = figures[i];
      if (stats) live.push({ ...this.figures(sale, stats, now), room: rooms[i] ?? null });
    });
    for (const id of this.previous.keys()) if (!live.some((s) => s.id === id)) this.previous.delete(id);
    const sample = { at: new Date(now), sales: live, doors: await doors };
    this.last = { at: now, sample };
    return sample;
  }

  private async room(saleId: string): Promise<LiveRoom> {
    return roomFigures(await this.rooms.stats(saleId));
  }

  private figures(sale: WatchedSale, stats: SaleStats, now: number): Omit<LiveSale, 'room'> {
    const remaining = stats.remaining ?? stats.stock;
    const before = this.previous.get(sale.id);
    const seconds = before ? (now - before.at) / 1000 : 0;
    const perSecond = (current: number, old: number | undefined): number =>
      seconds > 0 && old !== undefined ? Math.max(0, (current - old) / seconds) : 0;
    const refusalsByCode = Object.fromEntries(
      Object.entries(stats.refusals).map(([code, n]) => [
        code,
        perSecond(n, before?.refusals[code as keyof typeof stats.refusals]),
      ]),
    ) as SaleStats['refusals'];
    const done = persisted(stats);
    this.previous.set(sale.id, { at: now, admitted: stats.admitted, refusals: stats.refusals, persisted: done });
    return {
      id: sale.id,
      name: sale.name,
      status: saleStatus(sale, remaining, new Date(now)),
      startsAt: sale.startsAt,
      endsAt: effectiveEnd(sale),
      stock: stats.stock,
      remaining,
      admitted: stats.admitted,
      refusals: stats.refusals,
      ordersByStatus: stats.ordersByStatus,
      backlog: stats.backlog.tickets,
      rates: {
        admissions: perSecond(stats.admitted, before?.admitted),
        refusals: Object.values(refusalsByCode).reduce((a, b) => a + b, 0),
        refusalsByCode,
        drain: perSecond(done, before?.persisted),
      },
    };
  }
}
