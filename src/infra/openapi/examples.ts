/** Values the examples of the OpenAPI document share across modules (one sale, order and shopper). */
export const EXAMPLE = {
  saleId: '0f4c2a9e-5b8d-4e21-9a7c-3d6b1e8f2a40',
  orderId: '01JD3Z6W5Q8K4N2M7P9R1T3V5X',
  userId: '7d2e4f60-1a3b-4c5d-8e9f-0a1b2c3d4e5f',
  /** A sale's start, and the moment most examples are taken. */
  at: '2026-11-21T12:00:00.000Z',
  /** An hour later: the sale's end, an expiry. */
  later: '2026-11-21T13:00:00.000Z',
} as const;
