import { Controller, Get, Inject, Param } from '@nestjs/common';
import { Roles } from '../auth/auth.decorators.js';
import { SaleStatsService, type SaleStats } from './sale-stats.service.js';

@Controller('admin/sales')
@Roles('ADMIN')
export class AdminOrdersController {
  constructor(@Inject(SaleStatsService) private readonly stats: SaleStatsService) {}

  /** Stock, remaining, admitted, refusals by code, orders by status, backlog. */
  @Get(':id/stats')
  get(@Param('id') id: string): Promise<SaleStats> {
    return this.stats.stats(id);
  }
}
