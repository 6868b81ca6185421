import { Module } from '@nestjs/common';
import { AdminSalesController } from './admin-sales.controller.js';
import { SalesModule } from './sales.module.js';
import { StorefrontController } from './storefront.controller.js';
import { StorefrontService } from './storefront.service.js';

/** The HTTP side: admin sale management and the public storefront reads. */
@Module({
  imports: [SalesModule],
  controllers: [AdminSalesController, StorefrontController],
  providers: [StorefrontService],
  exports: [StorefrontService],
})
export class SalesHttpModule {}
