import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/auth.decorators.js';
import { SaleId } from '../infra/http/id-params.js';
import { Answers } from '../infra/openapi/answers.js';
import { SALE_STATS_EXAMPLE, SaleStatsDto } from './order-views.dto.js';
import { SaleStatsService, type SaleStats } from './sale-stats.service.js';

@ApiTags('admin')
@Controller('admin/sales')
@Roles('ADMIN')
export class AdminOrdersController {
  constructor(@Inject(SaleStatsService) private readonly stats: SaleStatsService) {}

  /** Stock, remaining, admitted, refusals by code, orders by status, backlog. */
  @Get(':id/stats')
  @Answers({ status: 200, body: SaleStatsDto, example: SALE_STATS_EXAMPLE, errors: ['SALE_NOT_FOUND'] })
  get(@SaleId() id: string): Promise<SaleStats> {
    return this.stats.stats(id);
  }
}
