import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RoomController } from './room.controller.js';
import { RoomModule } from './room.module.js';

/** The shoppers' queue routes. */
@Module({ imports: [RoomModule, AuthModule], controllers: [RoomController] })
export class RoomHttpModule {}
