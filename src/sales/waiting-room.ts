import { antiBotOf, type AntiBotSettings } from './anti-bot-settings.js';

/**
 * A sale's waiting room, as the admin sets it (the `waiting_room` column;
 * null: the sale has none and shoppers buy directly). The room itself (the
 * queue, the admitter, the admissions) lives in src/room.
 */
export interface WaitingRoom {
  /** Shoppers let in per second, or `auto`: the admitter follows what the purchase path measures. */
  admitPerSecond: number | 'auto';
  /** Most shoppers admitted and not yet done (admission unused, or order not yet paid or cancelled). */
  maxActive: number;
  /** Seconds an admission stays valid (the claim window). */
  claimSeconds: number;
  /** When joining opens (the pre-queue), ISO time before the start; null: ROOM_PREQUEUE_LEAD_SECONDS before it. */
  prequeueOpensAt: string | null;
  /** Longest the queue may grow (joins beyond: 503 QUEUE_FULL); null: ROOM_MAX_QUEUE. */
  maxQueue: number | null;
  /** The admitter lets nobody in while paused (joining and waiting go on). */
  paused: boolean;
  /**
   * The anti-bot rules at the room's door (src/bots); absent: none asked for
   * (mode `off`), and the room's settings read as they did before them.
   */
  antiBot?: AntiBotSettings;
}

/** The waiting room of a sale row's `waitingRoom` column (JSON), or null. */
export function waitingRoomOf(value: unknown): WaitingRoom | null {
  if (value === null || value === undefined || typeof value !== 'object') return null;
  const v = value as Partial<WaitingRoom>;
  const room: WaitingRoom = {
    admitPerSecond: v.admitPerSecond === 'auto' ? 'auto' : Number(v.admitPerSecond ?? 0),
    maxActive: Number(v.maxActive ?? 0),
    claimSeconds: Number(v.claimSeconds ?? 0),
    prequeueOpensAt: typeof v.prequeueOpensAt === 'string' ? v.prequeueOpensAt : null,
    maxQueue: typeof v.maxQueue === 'number' ? v.maxQueue : null,
    paused: v.paused === true,
  };
  if (v.antiBot !== undefined && v.antiBot !== null) room.antiBot = antiBotOf(v.antiBot);
  return room;
}
