import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { SalesModule } from '../sales/sales.module.js';
import { BotsController } from './bots.controller.js';
import { BotsModule } from './bots.module.js';

/** The challenge route of the waiting rooms' anti-bot screen. */
@Module({ imports: [BotsModule, SalesModule, AuthModule], controllers: [BotsController] })
export class BotsHttpModule {}
