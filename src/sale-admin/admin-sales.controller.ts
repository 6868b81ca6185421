import { Body, Controller, Delete, Get, HttpCode, Inject, Patch, Post, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.decorators.js';
import type { ErrorCode } from '../infra/errors/error-codes.js';
import { SaleId } from '../infra/http/id-params.js';
import { PageQueryDto } from '../infra/http/page-query.dto.js';
import { Answers, type RouteAnswers } from '../infra/openapi/answers.js';
import { SALE_VIEW_EXAMPLE, SaleViewDto } from '../sales/sale-views.dto.js';
import { CreateSaleDto, ReconcileQueryDto, UpdateSaleDto } from './dto/sale.dto.js';
import {
  RECONCILE_REPORT_EXAMPLE,
  ReconcileReportDto,
  ROOM_REPORT_EXAMPLE,
  RoomReportDto,
  SalePageDto,
} from './dto/sale-admin-views.dto.js';
import { SalesService } from './sales.service.js';
import type { SaleView } from '../sales/sale-view.js';
import { ReconcileService, type ReconcileReport } from './reconcile.service.js';
import { RoomAdminService, type RoomReport } from './room-admin.service.js';

const { name, sku, price, stock, perUserLimit, startsAt, endsAt } = SALE_VIEW_EXAMPLE;
const NEW_SALE = { name, sku, price, stock, perUserLimit, startsAt, endsAt };
const CHANGE_ERRORS: ErrorCode[] = ['SALE_NOT_FOUND', 'SALE_ENDED'];
const ROOM = { admitPerSecond: 200, maxActive: 5000, claimSeconds: 60, prequeueOpensAt: null, maxQueue: null };

/** Pausing or resuming a sale's room answers the sale, its room paused or not. */
function roomChange({ paused }: { paused: boolean }): RouteAnswers {
  return {
    status: 200,
    body: SaleViewDto,
    example: { ...SALE_VIEW_EXAMPLE, waitingRoom: { ...ROOM, paused } },
    errors: ['SALE_NOT_FOUND', 'NO_WAITING_ROOM', 'SALE_ENDED'],
  };
}

@ApiTags('admin')
@Controller('admin/sales')
@Roles('ADMIN')
export class AdminSalesController {
  constructor(
    @Inject(SalesService) private readonly sales: SalesService,
    @Inject(ReconcileService) private readonly reconciler: ReconcileService,
    @Inject(RoomAdminService) private readonly rooms: RoomAdminService,
  ) {}

  @Post()
  @Answers({
    status: 201,
    body: SaleViewDto,
    example: { ...SALE_VIEW_EXAMPLE, status: 'UPCOMING', remaining: 1000, preheated: false },
    requestExample: NEW_SALE,
  })
  create(@Body() dto: CreateSaleDto): Promise<SaleView> {
    return this.sales.create(dto);
  }

  @Get()
  @Answers({
    status: 200,
    body: SalePageDto,
    example: { items: [SALE_VIEW_EXAMPLE], page: 1, pageSize: 20, total: 1 },
  })
  list(@Query() query: PageQueryDto): Promise<{ items: SaleView[]; page: number; pageSize: number; total: number }> {
    return this.sales.page(query.page, query.pageSize);
  }

  @Get(':id')
  @Answers({ status: 200, body: SaleViewDto, example: SALE_VIEW_EXAMPLE, errors: ['SALE_NOT_FOUND'] })
  get(@SaleId() id: string): Promise<SaleView> {
    return this.sales.get(id);
  }

  @Patch(':id')
  @Answers({
    status: 200,
    body: SaleViewDto,
    example: { ...SALE_VIEW_EXAMPLE, stock: 1200, remaining: 612 },
    errors: ['SALE_NOT_FOUND', 'SALE_ENDED', 'SALE_ALREADY_STARTED', 'STOCK_BELOW_SOLD', 'CONFLICT'],
    requestExample: { stock: 1200 },
  })
  update(@SaleId() id: string, @Body() dto: UpdateSaleDto): Promise<SaleView> {
    return this.sales.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  @Answers({ status: 204, errors: ['SALE_NOT_FOUND', 'SALE_HAS_ORDERS'] })
  remove(@SaleId() id: string): Promise<void> {
    return this.sales.remove(id);
  }

  @Post(':id/preheat')
  @HttpCode(200)
  @Answers({ status: 200, body: SaleViewDto, example: SALE_VIEW_EXAMPLE, errors: ['SALE_NOT_FOUND'] })
  preheat(@SaleId() id: string): Promise<SaleView> {
    return this.sales.preheat(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  @Answers({ status: 200, body: SaleViewDto, example: { ...SALE_VIEW_EXAMPLE, paused: true }, errors: CHANGE_ERRORS })
  pause(@SaleId() id: string): Promise<SaleView> {
    return this.sales.setPaused(id, { paused: true });
  }

  @Post(':id/resume')
  @HttpCode(200)
  @Answers({ status: 200, body: SaleViewDto, example: SALE_VIEW_EXAMPLE, errors: CHANGE_ERRORS })
  resume(@SaleId() id: string): Promise<SaleView> {
    return this.sales.setPaused(id, { paused: false });
  }

  /** The sale's waiting room: queue, admitted, rates, counters. */
  @Get(':id/room')
  @Answers({
    status: 200,
    body: RoomReportDto,
    example: ROOM_REPORT_EXAMPLE,
    errors: ['SALE_NOT_FOUND', 'NO_WAITING_ROOM'],
  })
  room(@SaleId() id: string): Promise<RoomReport> {
    return this.rooms.report(id);
  }

  /** Let nobody in (joining and waiting go on); the rate changes with PATCH (waitingRoom.admitPerSecond). */
  @Post(':id/room/pause')
  @HttpCode(200)
  @Answers(roomChange({ paused: true }))
  pauseRoom(@SaleId() id: string): Promise<SaleView> {
    return this.sales.setRoomPaused(id, { paused: true });
  }

  @Post(':id/room/resume')
  @HttpCode(200)
  @Answers(roomChange({ paused: false }))
  resumeRoom(@SaleId() id: string): Promise<SaleView> {
    return this.sales.setRoomPaused(id, { paused: false });
  }

  @Post(':id/end')
  @HttpCode(200)
  @Answers({
    status: 200,
    body: SaleViewDto,
    example: { ...SALE_VIEW_EXAMPLE, status: 'ENDED', endedAt: '2026-11-21T12:30:00.000Z' },
    errors: CHANGE_ERRORS,
  })
  end(@SaleId() id: string): Promise<SaleView> {
    return this.sales.end(id);
  }

  /**
   * Compares the gate with the orders of record and reports the drift; with
   * `?repair=true` rewrites the gate from Postgres (also rebuilds a missing one).
   */
  @Post(':id/reconcile')
  @HttpCode(200)
  @Answers({ status: 200, body: ReconcileReportDto, example: RECONCILE_REPORT_EXAMPLE, errors: ['SALE_NOT_FOUND'] })
  reconcile(@SaleId() id: string, @Query() query: ReconcileQueryDto): Promise<ReconcileReport> {
    return this.reconciler.reconcile(id, { repair: query.repair });
  }
}
