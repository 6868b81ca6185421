import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuthModule } from '../auth/auth.module.js';
import { EventsModule } from '../events/events.module.js';
import { NotificationsHttpModule } from '../notifications/notifications.http.module.js';
import { SaleStatsModule } from '../orders/sale-stats.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { AdminAccess } from './admin/admin-access.js';
import { AdminSessionController } from './admin/admin-session.controller.js';
import { StaticPages } from './admin/static-pages.js';
import { HealthController } from './health.controller.js';
import { LiveSalesService } from './live/live-sales.service.js';
import { RoomModule } from '../room/room.module.js';
import { QueueMetrics } from './metrics/queue.metrics.js';
import { SystemMetrics } from './metrics/system.metrics.js';

/**
 * The API side of ops: health probes, the browser session of the admin pages,
 * the live sale figures and the system-wide metrics read at scrape time.
 * The routes outside Nest (metrics, dashboards, docs) are set up by setupOps.
 */
@Module({
  imports: [
    AuthModule,
    DiscoveryModule,
    EventsModule,
    NotificationsHttpModule,
    SalesModule,
    SaleStatsModule,
    RoomModule,
  ],
  controllers: [HealthController, AdminSessionController],
  providers: [LiveSalesService, QueueMetrics, SystemMetrics, AdminAccess, StaticPages],
})
export class OpsModule {}
