export type SaleStatus = 'UPCOMING' | 'ACTIVE' | 'SOLD_OUT' | 'ENDED';

export interface SaleTimes {
  startsAt: Date;
  endsAt: Date;
  endedAt: Date | null;
}

/** When the sale stops selling: ended early by an admin, or its scheduled end. */
export function effectiveEnd(sale: SaleTimes): Date {
  return sale.endedAt && sale.endedAt < sale.endsAt ? sale.endedAt : sale.endsAt;
}

export function saleStatus(sale: SaleTimes, remaining: number, now: Date): SaleStatus {
  if (now >= effectiveEnd(sale)) return 'ENDED';
  if (remaining <= 0) return 'SOLD_OUT';
  return now >= sale.startsAt ? 'ACTIVE' : 'UPCOMING';
}
