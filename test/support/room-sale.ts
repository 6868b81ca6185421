import { randomUUID } from 'node:crypto';
import type { RoomSale } from '../../src/room/room-sale.js';

/**
 * A sale with a waiting room as the room's scripts see it, for tests that
 * drive the scripts directly: started `startsIn` ms from now (negative:
 * already started), ending in an hour, no cap worth meeting unless `over`
 * sets one.
 */
export function roomSale(over: Partial<RoomSale['room']> = {}, startsIn = -1000): RoomSale {
  const now = Date.now();
  return {
    id: randomUUID(),
    version: String(now),
    startsAt: now + startsIn,
    endsAt: now + 3_600_000,
    paymentWindowMs: 60_000,
    room: {
      admitPerSecond: 100_000,
      maxActive: 1_000_000,
      claimSeconds: 60,
      prequeueOpensAt: null,
      maxQueue: null,
      paused: false,
      ...over,
    },
  };
}
