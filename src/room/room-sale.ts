import { effectiveEnd } from '../sales/sale-status.js';
import type { SaleWithStock } from '../sales/sale-lookup.js';
import { waitingRoomOf, type WaitingRoom } from '../sales/waiting-room.js';

/** What the room needs to know of a sale with a waiting room. Times in ms. */
export interface RoomSale {
  id: string;
  /** Changes whenever the sale's row does: the room's settings in Redis follow it. */
  version: string;
  startsAt: number;
  /** When it stops selling (endedAt when ended early). */
  endsAt: number;
  /** The window to pay once bought (the sale's, or PAYMENT_WINDOW_SECONDS), ms. */
  paymentWindowMs: number;
  room: WaitingRoom;
}

/** What the room's settings in Redis are made of (see RoomStore.configure). */
export type RoomSettings = Omit<RoomSale, 'paymentWindowMs'>;

/** The sale's room settings; null when it has no waiting room. */
export function roomSettings(sale: SaleWithStock): RoomSettings | null {
  const room = waitingRoomOf(sale.waitingRoom);
  if (!room) return null;
  const endsAt = effectiveEnd(sale).getTime();
  return {
    id: sale.id,
    version: `${sale.updatedAt.getTime()}:${endsAt}`,
    startsAt: sale.startsAt.getTime(),
    endsAt,
    room,
  };
}

/** The sale as the room sees it; null when it has no waiting room. */
export function roomSale(sale: SaleWithStock, defaultPaymentWindowSeconds: number): RoomSale | null {
  const settings = roomSettings(sale);
  if (!settings) return null;
  return { ...settings, paymentWindowMs: (sale.paymentWindowSeconds ?? defaultPaymentWindowSeconds) * 1000 };
}
