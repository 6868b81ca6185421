import { Inject, Injectable, Logger } from '@nestjs/common';
import { GateReadModel } from '../gate/gate-read-model.js';
import { GateRebuild, type AdjustResult } from '../gate/gate-rebuild.js';
import { RoomConfig, SalesConfig } from '../infra/config/app-config.js';
import { Prisma } from '../generated/prisma/client.js';
import { antiBotOf } from '../sales/anti-bot-settings.js';
import { waitingRoomOf, type WaitingRoom } from '../sales/waiting-room.js';
import { DomainError, type ErrorDetail } from '../infra/errors/domain-error.js';
import { pageOf, type Page } from '../infra/http/page-query.dto.js';
import { JobName } from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import type { CreateSaleDto, UpdateSaleDto, WaitingRoomDto } from './dto/sale.dto.js';
import { gateSettings } from '../sales/gate-settings.js';
import { ReconcileService } from './reconcile.service.js';
import { effectiveEnd } from '../sales/sale-status.js';
import { saleView, type SaleView } from '../sales/sale-view.js';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { SaleCatalog, type SaleWithStock } from '../sales/sale-catalog.js';
import { UUID } from '../infra/ids/ids.js';
import { StockOfRecord } from '../inventory/stock-of-record.js';
import { OrderQueries } from '../orders/order-queries.js';
import { roomSettings } from '../room/room-sale.js';
import { RoomStore } from '../room/room.store.js';

function invalid(field: string, problem: string): DomainError {
  return new DomainError('VALIDATION_FAILED', `${field}: ${problem}`, [{ field, problem } satisfies ErrorDetail]);
}

/** Admin management of flash sales and the stock preheat into the gate. */
@Injectable()
export class SalesService {
  private readonly logger = new Logger('Sales');

  constructor(
    @Inject(SaleCatalog) private readonly sales: SaleCatalog,
    @Inject(StockOfRecord) private readonly stock: StockOfRecord,
    @Inject(GateRebuild) private readonly gate: GateRebuild,
    @Inject(GateReadModel) private readonly gateReads: GateReadModel,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(ReconcileService) private readonly reconcile: ReconcileService,
    @Inject(OrderQueries) private readonly orders: OrderQueries,
    @Inject(SalesConfig) private readonly config: SalesConfig,
    @Inject(RoomConfig) private readonly rooms: RoomConfig,
    @Inject(RoomStore) private readonly roomStore: RoomStore,
  ) {}

  async create(dto: CreateSaleDto): Promise<SaleView> {
    if (dto.endsAt <= dto.startsAt) throw invalid('endsAt', 'must be after startsAt');
    if (dto.endsAt <= new Date()) throw invalid('endsAt', 'must be in the future');
    assertAmountFits(dto.price, dto.perUserLimit);
    const room = dto.waitingRoom ? this.roomOf(dto.waitingRoom, null, dto.startsAt) : null;
    const sale = await this.sales.transaction(async (tx): Promise<SaleWithStock> => {
      const row = await this.sales.create(tx, { ...dto, waitingRoom: room ? { ...room } : undefined });
      await this.stock.open(tx, row.id, dto.stock);
      return { ...row, available: dto.stock };
    });
    await this.schedulePreheat(sale);
    return saleView(sale, null);
  }

  async get(id: string): Promise<SaleView> {
    const sale = await this.sales.find(id);
    if (!sale) throw notFound();
    return saleView(sale, await this.gateReads.remaining(id));
  }

  async page(page: number, pageSize: number): Promise<Page<SaleView>> {
    const { items, total } = await this.sales.page(page, pageSize);
    const views = await Promise.all(items.map(async (s) => saleView(s, await this.gateReads.remaining(s.id))));
    return pageOf({ page, pageSize }, views, total);
  }

  async update(id: string, dto: UpdateSaleDto): Promise<SaleView> {
    let added = 0;
    let relayout = false;
    let rescheduledFrom: number | null = null;
    const result = await this.locked(id, async (sale, tx) => {
      const now = new Date();
      if (now >= effectiveEnd(sale)) throw new DomainError('SALE_ENDED', 'The sale has ended; it cannot change');
      const startsAt = dto.startsAt ?? sale.startsAt;
      const endsAt = dto.endsAt ?? sale.endsAt;
      if (dto.startsAt && dto.startsAt.getTime() !== sale.startsAt.getTime()) {
        if (now >= sale.startsAt)
          throw new DomainError('SALE_ALREADY_STARTED', 'The sale has begun; its start cannot move');
        rescheduledFrom = sale.startsAt.getTime();
      }
      if (endsAt <= startsAt) throw invalid('endsAt', 'must be after startsAt');
      if (endsAt <= now) throw invalid('endsAt', 'must be in the future');
      assertAmountFits(dto.price ?? sale.price, dto.perUserLimit ?? sale.perUserLimit);
      const room =
        dto.waitingRoom === undefined
          ? undefined
          : dto.waitingRoom === null
            ? Prisma.DbNull
            : { ...this.roomOf(dto.waitingRoom, waitingRoomOf(sale.waitingRoom), startsAt) };

      const delta = dto.stock === undefined ? 0 : dto.stock - sale.stock;
      if (dto.gateBuckets !== undefined && dto.gateBuckets !== sale.gateBuckets) {
        if (now >= sale.startsAt)
          throw new DomainError('SALE_ALREADY_STARTED', 'The sale has begun; its buckets cannot change');
        // Nothing can be admitted before the start: the gate is laid out anew.
        if ((await this.gateReads.remaining(id)) !== null) {
          await this.gate.remove(id);
          relayout = true;
        }
      }
      // A decrease takes the units out of the gate first, so a unit that is being
      // sold right now can never be removed; an increase adds them after Postgres.
      // A gate split into buckets changes stock by a rebuild from the orders of record.
      const buckets = sale.gateBuckets > 1 && !relayout;
      const gateTook =
        delta >= 0
          ? { status: 'absent' as const }
          : buckets
            ? await this.restockBuckets(sale, sale.stock + delta)
            : await this.gate.adjustStock(id, sale.stock, sale.stock + delta);
      if (gateTook.status === 'refused') throw belowSold(sale.stock - gateTook.remaining);
      if (gateTook.status === 'conflict') {
        throw new DomainError('CONFLICT', 'The stock of this sale is changing right now; try again');
      }
      try {
        if (delta !== 0 && !(await this.stock.adjust(tx, id, delta))) throw belowSold(sale.stock - sale.available);
        const updated = await this.sales.update(tx, sale, {
          stock: delta !== 0 ? sale.stock + delta : undefined,
          gateBuckets: dto.gateBuckets,
          name: dto.name,
          sku: dto.sku,
          price: dto.price,
          perUserLimit: dto.perUserLimit,
          startsAt: dto.startsAt,
          endsAt: dto.endsAt,
          paymentWindowSeconds: dto.paymentWindowSeconds,
          waitingRoom: room,
        });
        const next = { ...updated, stock: sale.stock + delta, available: sale.available + delta };
        await this.gate.updateSettings(id, gateSettings(next));
        added = Math.max(0, delta);
        return next;
      } catch (err) {
        if (gateTook.status === 'done') {
          if (buckets) await this.restockBuckets(sale, sale.stock);
          else await this.gate.adjustStock(id, sale.stock + delta, sale.stock);
        }
        throw err;
      }
    });
    if (relayout) {
      await this.preheat(id);
    } else if (added > 0 && result.gateBuckets > 1) {
      if ((await this.gateReads.remaining(id)) !== null) await this.reconcile.reconcile(id, { repair: true });
      this.logger.log(`sale ${id}: stock raised by ${added} to ${result.stock}`);
    } else if (added > 0) {
      // Units are added to the gate only once Postgres has committed them.
      const raised = await this.gate.adjustStock(id, result.stock - added, result.stock);
      if (raised.status === 'conflict') {
        // Another change moved the gate meanwhile: rebuild it from Postgres.
        this.logger.warn(`sale ${id}: gate stock moved during a raise; repairing from the orders of record`);
        await this.reconcile.reconcile(id, { repair: true });
      }
      this.logger.log(`sale ${id}: stock raised by ${added} to ${result.stock}`);
    }
    if (rescheduledFrom !== null) {
      await this.queues.remove(JobName.PreheatSale, preheatJobId(id, rescheduledFrom));
      await this.schedulePreheat(result);
    }
    await this.configureRoom(result);
    return saleView(result, await this.gateReads.remaining(id));
  }

  /** A preheated gate split into buckets moved to a new stock (a rebuild); absent when not preheated. */
  private async restockBuckets(sale: SaleWithStock, stock: number): Promise<AdjustResult> {
    if ((await this.gateReads.remaining(sale.id)) === null) return { status: 'absent' };
    const answer = await this.reconcile.restock(sale, stock);
    // SHORT: expected = stock − held, so held = stock − expected.
    if (answer.status === 'SHORT') return { status: 'refused', remaining: sale.stock - (stock - answer.expected) };
    return { status: 'done', remaining: answer.expected };
  }

  async remove(id: string): Promise<void> {
    const startsAt = await this.locked(id, async (sale, tx) => {
      // Close the gate first so nothing is admitted while we look.
      const wasPreheated = await this.gate.updateSettings(id, { ...gateSettings(sale), paused: true });
      const inFlight = wasPreheated ? await this.gateReads.pendingCount(id) : 0;
      const orders = await this.orders.countOfSale(id, tx);
      if (orders > 0 || inFlight > 0 || (wasPreheated && (await this.gateReads.remaining(id)) !== sale.stock)) {
        if (wasPreheated) await this.gate.updateSettings(id, gateSettings(sale));
        throw new DomainError('SALE_HAS_ORDERS', 'The sale has orders; end it instead of deleting it');
      }
      await this.sales.delete(tx, id);
      await this.gate.remove(id);
      return sale.startsAt.getTime();
    });
    await this.queues.remove(JobName.PreheatSale, preheatJobId(id, startsAt));
  }

  setPaused(id: string, { paused }: { paused: boolean }): Promise<SaleView> {
    return this.change(id, (sale) => {
      if (new Date() >= effectiveEnd(sale)) throw new DomainError('SALE_ENDED', 'The sale has ended');
      return { paused };
    });
  }

  /** Pauses or resumes a sale's waiting room (nobody is let in while paused; joining and waiting go on). */
  setRoomPaused(id: string, { paused }: { paused: boolean }): Promise<SaleView> {
    return this.change(id, (sale) => {
      const room = waitingRoomOf(sale.waitingRoom);
      if (!room) throw new DomainError('NO_WAITING_ROOM', 'This sale has no waiting room');
      if (new Date() >= effectiveEnd(sale)) throw new DomainError('SALE_ENDED', 'The sale has ended');
      return { waitingRoom: { ...room, paused } };
    });
  }

  /**
   * A room's settings from the admin's fields over the current room (or the
   * defaults); the pre-queue must open before the start.
   */
  private roomOf(dto: WaitingRoomDto, current: WaitingRoom | null, startsAt: Date): WaitingRoom {
    const opens = dto.prequeueOpensAt === undefined ? (current?.prequeueOpensAt ?? null) : dto.prequeueOpensAt;
    const prequeueOpensAt = opens instanceof Date ? opens.toISOString() : opens;
    if (prequeueOpensAt !== null && Date.parse(prequeueOpensAt) > startsAt.getTime()) {
      throw invalid('waitingRoom.prequeueOpensAt', 'must not be after startsAt');
    }
    return {
      admitPerSecond: dto.admitPerSecond ?? current?.admitPerSecond ?? this.rooms.ROOM_DEFAULT_ADMIT_PER_SECOND,
      maxActive: dto.maxActive ?? current?.maxActive ?? DEFAULT_MAX_ACTIVE,
      claimSeconds: dto.claimSeconds ?? current?.claimSeconds ?? DEFAULT_CLAIM_SECONDS,
      prequeueOpensAt,
      maxQueue: dto.maxQueue === undefined ? (current?.maxQueue ?? null) : dto.maxQueue,
      paused: dto.paused ?? current?.paused ?? false,
      // anti-bot rules: given ones replace the current ones whole (what they leave out takes its default)
      ...(dto.antiBot ? { antiBot: antiBotOf(dto.antiBot) } : current?.antiBot ? { antiBot: current.antiBot } : {}),
    };
  }

  end(id: string): Promise<SaleView> {
    return this.change(id, (sale) => (new Date() >= effectiveEnd(sale) ? {} : { endedAt: new Date() }));
  }

  /**
   * Loads the gate: a missing one is built from the orders of record (stock −
   * orders not CANCELLED/FAILED, buyers' counts), so this also rebuilds a gate
   * after Redis lost its data; an existing one only gets the sale's settings.
   * Idempotent, never overwrites stock already taken.
   */
  async preheat(id: string): Promise<SaleView> {
    const result = await this.locked(id, async (sale) => {
      const answer = await this.reconcile.run(sale, 'create');
      if (answer.status === 'DONE' && answer.expected !== sale.stock) {
        this.logger.warn(`sale ${id}: gate built from the orders of record with ${answer.expected} remaining`);
      }
      return { sale, remaining: answer.status === 'EXISTS' ? (answer.current ?? 0) : answer.expected };
    });
    this.logger.log(`sale ${id} preheated: ${result.remaining} remaining`);
    return saleView(result.sale, result.remaining);
  }

  /** Preheat job: a sale deleted since is no error. */
  async preheatIfExists(id: string): Promise<void> {
    try {
      await this.preheat(id);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'SALE_NOT_FOUND') return;
      throw err;
    }
  }

  private async change(
    id: string,
    patch: (sale: SaleWithStock) => { paused?: boolean; endedAt?: Date; waitingRoom?: Prisma.InputJsonValue },
  ): Promise<SaleView> {
    const sale = await this.locked(id, async (current, tx) => {
      const data = patch(current);
      if (Object.keys(data).length === 0) return current;
      const updated = { ...(await this.sales.update(tx, current, data)), available: current.available };
      await this.gate.updateSettings(id, gateSettings(updated));
      return updated;
    });
    await this.configureRoom(sale);
    return saleView(sale, await this.gateReads.remaining(id));
  }

  /** A room's changed settings reach Redis once committed (a pause holds from this answer on). */
  private async configureRoom(sale: SaleWithStock): Promise<void> {
    const settings = roomSettings(sale);
    if (settings) await this.roomStore.configure(settings);
  }

  private async locked<T>(id: string, work: (sale: SaleWithStock, tx: Tx) => Promise<T>): Promise<T> {
    if (!UUID.test(id)) throw notFound(); // the routes' pipe checks it too; the preheat job's id does not pass one
    const result = await this.sales.withLockedSale(id, work);
    if (result === null) throw notFound();
    return result;
  }

  private async schedulePreheat(sale: SaleWithStock): Promise<void> {
    const at = sale.startsAt.getTime() - this.config.PREHEAT_LEAD_SECONDS * 1000;
    await this.queues.enqueue(
      JobName.PreheatSale,
      { saleId: sale.id },
      { jobId: preheatJobId(sale.id, sale.startsAt.getTime()), delay: Math.max(0, at - Date.now()) },
    );
  }
}

/** A room's defaults for the fields the admin leaves out (see WaitingRoomDto). */
export const DEFAULT_MAX_ACTIVE = 5000;
export const DEFAULT_CLAIM_SECONDS = 60;

export function preheatJobId(saleId: string, startsAtMs: number): string {
  return `preheat-${saleId}-${startsAtMs}`;
}

/** An order's amount (price × quantity, minor units) must fit the 32-bit column. */
function assertAmountFits(price: number, perUserLimit: number): void {
  if (price * perUserLimit > 2_147_483_647) {
    throw invalid('perUserLimit', 'price × perUserLimit must not exceed 2147483647 minor units');
  }
}

function notFound(): DomainError {
  return new DomainError('SALE_NOT_FOUND', 'No such sale');
}

function belowSold(sold: number): DomainError {
  return new DomainError('STOCK_BELOW_SOLD', `Stock cannot go below the ${sold} unit(s) already sold`);
}
