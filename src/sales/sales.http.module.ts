import { Module } from '@nestjs/common';
import { GateModule } from '../gate/gate.module.js';
import { SalesModule } from './sales.module.js';
import { StorefrontController } from './storefront.controller.js';
import { StorefrontService } from './storefront.service.js';

/** The HTTP side: the public storefront reads. */
@Module({
  imports: [SalesModule, GateModule],
  controllers: [StorefrontController],
  providers: [StorefrontService],
})
export class SalesHttpModule {}
