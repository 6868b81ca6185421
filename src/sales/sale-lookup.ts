import { Inject, Injectable } from '@nestjs/common';
import { SalesConfig } from '../infra/config/app-config.js';
import { TtlCache } from '../infra/cache/ttl-cache.js';
import { UUID } from '../infra/ids/ids.js';
import { effectiveEnd } from './sale-status.js';
import { SaleCatalog, type SaleWithStock } from './sale-catalog.js';

export type { SaleWithStock };

/** Where a sale stands in time, as other modules need to know it. */
export type SalePhase = 'UPCOMING' | 'OPEN' | 'ENDED';

/**
 * Sale rows for the crowd's paths, from a short in-process cache with single
 * flight: one Postgres query per sale per STOREFRONT_CACHE_MS per API
 * process, however many shoppers ask. The narrow read other modules use:
 * the purchase path asks a sale's phase; the workers its price and payment
 * window (orders) and its name (notifications).
 */
@Injectable()
export class SaleLookup {
  private readonly sales: TtlCache<string, SaleWithStock | null>;

  constructor(
    @Inject(SaleCatalog) private readonly catalog: SaleCatalog,
    @Inject(SalesConfig) config: SalesConfig,
  ) {
    this.sales = new TtlCache((id) => this.catalog.find(id), { ttlMs: config.STOREFRONT_CACHE_MS });
  }

  /** The sale (cached), or null when there is none with this id. */
  find(id: string): Promise<SaleWithStock | null> {
    if (!UUID.test(id)) return Promise.resolve(null);
    return this.sales.get(id.toLowerCase());
  }

  /** The sale when this process has it cached and fresh (null: cached as none), else undefined. */
  cached(id: string): SaleWithStock | null | undefined {
    return UUID.test(id) ? this.sales.peek(id.toLowerCase()) : null;
  }

  /** The sale as Postgres has it now (not cached: admin reads), or null. */
  findFresh(id: string): Promise<SaleWithStock | null> {
    return UUID.test(id) ? this.catalog.find(id) : Promise.resolve(null);
  }

  /** The sale's phase now, or null when there is no such sale. */
  async phase(id: string, now = new Date()): Promise<SalePhase | null> {
    const sale = await this.find(id);
    if (!sale) return null;
    if (now >= effectiveEnd(sale)) return 'ENDED';
    return now >= sale.startsAt ? 'OPEN' : 'UPCOMING';
  }
}
