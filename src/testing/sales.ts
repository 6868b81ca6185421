import type { SaleWithStock } from '../sales/sale-catalog.js';

/** A sale row (with its stock of record) as repositories return it: selling now, 10 units, one bucket. */
export function saleRow(overrides: Partial<SaleWithStock> = {}): SaleWithStock {
  const now = Date.now();
  return {
    id: '0b7c5a52-7d0e-4c55-9a51-6f1d1c1e7a10',
    name: 'spike',
    sku: 'S-1',
    price: 100,
    stock: 10,
    available: 10,
    perUserLimit: 1,
    startsAt: new Date(now - 60_000),
    endsAt: new Date(now + 3_600_000),
    endedAt: null,
    paused: false,
    paymentWindowSeconds: null,
    gateBuckets: 1,
    waitingRoom: null,
    createdAt: new Date(now - 120_000),
    updatedAt: new Date(now - 120_000),
    ...overrides,
  };
}
