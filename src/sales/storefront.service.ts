import { Inject, Injectable } from '@nestjs/common';
import { GateReadModel } from '../gate/gate-read-model.js';
import { SalesConfig } from '../infra/config/app-config.js';
import { TtlCache } from '../infra/cache/ttl-cache.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { SaleLookup } from './sale-lookup.js';
import { storefrontSale, type StorefrontSale } from './sale-view.js';
import { SaleCatalog, type SaleWithStock } from './sale-catalog.js';

/**
 * The crowd's reads while it waits. Sale rows come from a short in-process
 * cache (one Postgres query per sale per STOREFRONT_CACHE_MS per API process,
 * however many shoppers ask); remaining comes from the gate in Redis.
 */
@Injectable()
export class StorefrontService {
  private readonly open: TtlCache<'open', SaleWithStock[]>;

  constructor(
    @Inject(SaleCatalog) private readonly catalog: SaleCatalog,
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(GateReadModel) private readonly gate: GateReadModel,
    @Inject(SalesConfig) config: SalesConfig,
  ) {
    this.open = new TtlCache(() => this.catalog.openSales(new Date()), {
      ttlMs: config.STOREFRONT_CACHE_MS,
      max: 1,
    });
  }

  async list(): Promise<StorefrontSale[]> {
    const sales = await this.open.get('open');
    const remaining = await this.gate.remainingMany(sales.map((s) => s.id));
    const now = new Date();
    return sales.map((sale, i) => storefrontSale(sale, remaining[i] ?? null, now)).filter((s) => s.status !== 'ENDED');
  }

  async detail(id: string): Promise<StorefrontSale> {
    const sale = await this.sales.find(id);
    if (!sale) throw new DomainError('SALE_NOT_FOUND', 'No such sale');
    return storefrontSale(sale, await this.gate.remaining(id), new Date());
  }
}
