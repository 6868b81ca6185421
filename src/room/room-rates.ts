import { Inject, Injectable } from '@nestjs/common';
import { RoomConfig } from '../infra/config/app-config.js';
import type { RoomSale } from './room-sale.js';

/**
 * The rate each room's admitter lets shoppers in at: the configured one, or
 * for an `auto` room ROOM_DEFAULT_ADMIT_PER_SECOND within the auto bounds
 * (until the overload control's law drives it: see README, "Overload").
 */
@Injectable()
export class RoomRates {
  constructor(@Inject(RoomConfig) private readonly config: RoomConfig) {}

  rateFor(room: RoomSale): number {
    if (room.room.admitPerSecond !== 'auto') return room.room.admitPerSecond;
    return Math.min(
      this.config.ROOM_AUTO_MAX_PER_SECOND,
      Math.max(this.config.ROOM_AUTO_MIN_PER_SECOND, this.config.ROOM_DEFAULT_ADMIT_PER_SECOND),
    );
  }
}
