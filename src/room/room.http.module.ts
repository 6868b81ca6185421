import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { RoomController } from './room.controller.js';
import { RoomModule } from './room.module.js';
import { PollAtDoor } from './poll-at-door.js';

/** The shoppers' queue routes (polls mostly answered at the door: PollAtDoor, wired in http-app.ts). */
@Module({
  imports: [RoomModule, AuthModule],
  controllers: [RoomController],
  providers: [PollAtDoor],
  exports: [PollAtDoor],
})
export class RoomHttpModule {}
