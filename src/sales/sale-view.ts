import { effectiveEnd, saleStatus, type SaleStatus } from './sale-status.js';
import type { SaleWithStock } from './sale-catalog.js';
import type { AntiBotSettings } from './anti-bot-settings.js';
import { waitingRoomOf, type WaitingRoom } from './waiting-room.js';

/** A sale as the admin API answers it. */
export interface SaleView {
  id: string;
  name: string;
  sku: string;
  price: number;
  stock: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date;
  endedAt: Date | null;
  paused: boolean;
  /** Seconds to pay once reserved; null = the PAYMENT_WINDOW_SECONDS default. */
  paymentWindowSeconds: number | null;
  status: SaleStatus;
  /** Units left to buy: the gate's count once preheated, else the stock of record. */
  remaining: number;
  preheated: boolean;
  /** The sale's waiting room; null: none, shoppers buy directly. */
  waitingRoom: WaitingRoom | null;
  createdAt: Date;
  updatedAt: Date;
}

/** A sale as the storefront shows it to shoppers (endsAt: when it stops selling). */
export type StorefrontSale = Pick<
  SaleView,
  'id' | 'name' | 'price' | 'stock' | 'remaining' | 'perUserLimit' | 'startsAt' | 'endsAt' | 'status' | 'paused'
> & { waitingRoom: StorefrontRoom | null };

/** A room as shoppers see it: whether it screens for bots, not its rules (they would show a scalper the caps). */
export type StorefrontRoom = Omit<WaitingRoom, 'antiBot'> & { antiBot?: Pick<AntiBotSettings, 'mode'> };

/** The one mapper of a sale row (and the gate's remaining count, null when not preheated) to its views. */
export function saleView(sale: SaleWithStock, gateRemaining: number | null, now = new Date()): SaleView {
  const remaining = gateRemaining ?? sale.available;
  return {
    id: sale.id,
    name: sale.name,
    sku: sale.sku,
    price: sale.price,
    stock: sale.stock,
    perUserLimit: sale.perUserLimit,
    startsAt: sale.startsAt,
    endsAt: sale.endsAt,
    endedAt: sale.endedAt,
    paused: sale.paused,
    paymentWindowSeconds: sale.paymentWindowSeconds,
    status: saleStatus(sale, remaining, now),
    remaining,
    preheated: gateRemaining !== null,
    waitingRoom: waitingRoomOf(sale.waitingRoom),
    createdAt: sale.createdAt,
    updatedAt: sale.updatedAt,
  };
}

/** The storefront's subset of saleView. */
export function storefrontSale(sale: SaleWithStock, gateRemaining: number | null, now = new Date()): StorefrontSale {
  const { id, name, price, stock, remaining, perUserLimit, startsAt, status, paused, waitingRoom } = saleView(
    sale,
    gateRemaining,
    now,
  );
  return {
    id,
    name,
    price,
    stock,
    remaining,
    perUserLimit,
    startsAt,
    endsAt: effectiveEnd(sale),
    status,
    paused,
    waitingRoom: waitingRoom && publicRoom(waitingRoom),
  };
}

function publicRoom({ antiBot, ...room }: WaitingRoom): StorefrontRoom {
  return antiBot ? { ...room, antiBot: { mode: antiBot.mode } } : room;
}
