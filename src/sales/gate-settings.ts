import type { GateSettings } from '../gate/gate-rebuild.js';
import { effectiveEnd } from './sale-status.js';
import type { SaleWithStock } from './sale-catalog.js';

export function gateSettings(sale: SaleWithStock): GateSettings {
  return {
    stock: sale.stock,
    startsAt: sale.startsAt.getTime(),
    endsAt: effectiveEnd(sale).getTime(),
    perUserLimit: sale.perUserLimit,
    paused: sale.paused,
    price: sale.price,
    buckets: sale.gateBuckets,
    room: sale.waitingRoom !== null,
  };
}
