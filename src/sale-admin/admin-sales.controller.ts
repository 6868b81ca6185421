import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import { Roles } from '../auth/auth.decorators.js';
import { PageQueryDto } from '../infra/http/page-query.dto.js';
import { CreateSaleDto, ReconcileQueryDto, UpdateSaleDto } from './dto/sale.dto.js';
import { SalesService } from './sales.service.js';
import type { SaleView } from '../sales/sale-view.js';
import { ReconcileService, type ReconcileReport } from './reconcile.service.js';
import { RoomAdminService, type RoomReport } from './room-admin.service.js';

@Controller('admin/sales')
@Roles('ADMIN')
export class AdminSalesController {
  constructor(
    @Inject(SalesService) private readonly sales: SalesService,
    @Inject(ReconcileService) private readonly reconciler: ReconcileService,
    @Inject(RoomAdminService) private readonly rooms: RoomAdminService,
  ) {}

  @Post()
  create(@Body() dto: CreateSaleDto): Promise<SaleView> {
    return this.sales.create(dto);
  }

  @Get()
  list(@Query() query: PageQueryDto): Promise<{ items: SaleView[]; page: number; pageSize: number; total: number }> {
    return this.sales.page(query.page, query.pageSize);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<SaleView> {
    return this.sales.get(id);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() dto: UpdateSaleDto): Promise<SaleView> {
    return this.sales.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.sales.remove(id);
  }

  @Post(':id/preheat')
  @HttpCode(200)
  preheat(@Param('id') id: string): Promise<SaleView> {
    return this.sales.preheat(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  pause(@Param('id') id: string): Promise<SaleView> {
    return this.sales.setPaused(id, { paused: true });
  }

  @Post(':id/resume')
  @HttpCode(200)
  resume(@Param('id') id: string): Promise<SaleView> {
    return this.sales.setPaused(id, { paused: false });
  }

  /** The sale's waiting room: queue, admitted, rates, counters. */
  @Get(':id/room')
  room(@Param('id') id: string): Promise<RoomReport> {
    return this.rooms.report(id);
  }

  /** Let nobody in (joining and waiting go on); the rate changes with PATCH (waitingRoom.admitPerSecond). */
  @Post(':id/room/pause')
  @HttpCode(200)
  pauseRoom(@Param('id') id: string): Promise<SaleView> {
    return this.sales.setRoomPaused(id, { paused: true });
  }

  @Post(':id/room/resume')
  @HttpCode(200)
  resumeRoom(@Param('id') id: string): Promise<SaleView> {
    return this.sales.setRoomPaused(id, { paused: false });
  }

  @Post(':id/end')
  @HttpCode(200)
  end(@Param('id') id: string): Promise<SaleView> {
    return this.sales.end(id);
  }

  /**
   * Compares the gate with the orders of record and reports the drift; with
   * `?repair=true` rewrites the gate from Postgres (also rebuilds a missing one).
   */
  @Post(':id/reconcile')
  @HttpCode(200)
  reconcile(@Param('id') id: string, @Query() query: ReconcileQueryDto): Promise<ReconcileReport> {
    return this.reconciler.reconcile(id, { repair: query.repair });
  }
}
