import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, Query } from '@nestjs/common';
import { Roles } from '../auth/auth.decorators.js';
import { CreateSaleDto, PageQueryDto, UpdateSaleDto } from './dto/sale.dto.js';
import { PromotionsService, type SaleView } from './promotions.service.js';

@Controller('admin/sales')
@Roles('ADMIN')
export class AdminSalesController {
  constructor(@Inject(PromotionsService) private readonly promotions: PromotionsService) {}

  @Post()
  create(@Body() dto: CreateSaleDto): Promise<SaleView> {
    return this.promotions.create(dto);
  }

  @Get()
  list(@Query() query: PageQueryDto): Promise<{ items: SaleView[]; page: number; pageSize: number; total: number }> {
    return this.promotions.page(query.page, query.pageSize);
  }

  @Get(':id')
  get(@Param('id') id: string): Promise<SaleView> {
    return this.promotions.get(id);
  }

  @Patch(':id')
  update(@Param('id') id: string, @Body() dto: UpdateSaleDto): Promise<SaleView> {
    return this.promotions.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id') id: string): Promise<void> {
    return this.promotions.remove(id);
  }

  @Post(':id/preheat')
  @HttpCode(200)
  preheat(@Param('id') id: string): Promise<SaleView> {
    return this.promotions.preheat(id);
  }

  @Post(':id/pause')
  @HttpCode(200)
  pause(@Param('id') id: string): Promise<SaleView> {
    return this.promotions.setPaused(id, true);
  }

  @Post(':id/resume')
  @HttpCode(200)
  resume(@Param('id') id: string): Promise<SaleView> {
    return this.promotions.setPaused(id, false);
  }

  @Post(':id/end')
  @HttpCode(200)
  end(@Param('id') id: string): Promise<SaleView> {
    return this.promotions.end(id);
  }
}
