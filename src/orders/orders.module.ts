import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module.js';
import { GateModule } from '../gate/gate.module.js';
import { PaymentConfig } from '../infra/config/app-config.js';
import { SalesModule } from '../sales/sales.module.js';
import { OrderCancellation } from './order-cancellation.service.js';
import { OrderPipelineService } from './order-pipeline.service.js';
import { OrderQueries } from './order-queries.js';
import { OrderStatusPublisher } from './order-status.js';
import { OrdersRepository } from './orders.repository.js';
import { PAYMENT_PROVIDER } from './payments/payment-provider.js';
import { PAYMENT_PROVIDERS } from './payments/payment.providers.js';
import { PaymentMetrics } from './payments/payment.metrics.js';
import { OrderPayments } from './payments/order-payments.service.js';
import { PaymentDeadlines } from './payment-deadlines.js';
import { OrderRecovery } from './order-recovery.service.js';
import { TicketSweeperService } from './ticket-sweeper.service.js';

/**
 * The worker side of orders (placing, following inventory, sweeping, timeouts)
 * and the lifecycle rules; OrderQueries is what other modules may read.
 */
@Module({
  imports: [EventsModule, GateModule, SalesModule],
  providers: [
    OrdersRepository,
    OrderPipelineService,
    OrderStatusPublisher,
    TicketSweeperService,
    OrderPayments,
    OrderCancellation,
    PaymentDeadlines,
    OrderRecovery,
    OrderQueries,
    PaymentMetrics,
    {
      provide: PAYMENT_PROVIDER,
      inject: [PaymentConfig],
      useFactory: (config: PaymentConfig) => PAYMENT_PROVIDERS[config.PAYMENT_PROVIDER](config),
    },
  ],
  exports: [
    OrdersRepository,
    OrderPipelineService,
    TicketSweeperService,
    OrderPayments,
    OrderCancellation,
    PaymentDeadlines,
    OrderRecovery,
    OrderQueries,
  ],
})
export class OrdersModule {}
