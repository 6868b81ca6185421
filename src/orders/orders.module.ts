import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { GateModule } from '../gate/gate.module.js';
import { OrderPipelineService } from './order-pipeline.service.js';
import { OrderStatusPublisher } from './order-status.js';
import { OrdersRepository } from './orders.repository.js';
import { TicketSweeperService } from './ticket-sweeper.service.js';

/** The worker side of orders: placing, following inventory, sweeping. */
@Module({
  imports: [EventsModule, GateModule],
  providers: [OrdersRepository, OrderPipelineService, OrderStatusPublisher, TicketSweeperService],
  exports: [OrdersRepository, OrderPipelineService, TicketSweeperService],
})
export class OrdersModule {}
