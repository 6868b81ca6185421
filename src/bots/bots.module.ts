import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module.js';
import { BotsMetrics } from './bots.metrics.js';
import { BotsService } from './bots.service.js';
import { BotsStore } from './bots.store.js';

/** The anti-bot screen at the waiting rooms' door: challenges and risk rules (BotsService). */
@Module({
  imports: [UsersModule],
  providers: [BotsStore, BotsMetrics, BotsService],
  exports: [BotsService],
})
export class BotsModule {}
