import { Module } from '@nestjs/common';
import { AdminSalesController } from './admin-sales.controller.js';
import { SaleAdminModule } from './sale-admin.module.js';

/** The HTTP side: the admin's sale routes (create, change, preheat, pause, end, delete, reconcile). */
@Module({ imports: [SaleAdminModule], controllers: [AdminSalesController] })
export class SaleAdminHttpModule {}
