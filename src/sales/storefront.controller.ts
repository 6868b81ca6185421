import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { SalesConfig } from '../infra/config/app-config.js';
import type { StorefrontSale } from './sale-view.js';
import { StorefrontService } from './storefront.service.js';

@Controller('sales')
@Public()
export class StorefrontController {
  private readonly cacheControl: string;

  constructor(
    @Inject(StorefrontService) private readonly storefront: StorefrontService,
    @Inject(SalesConfig) config: SalesConfig,
  ) {
    const seconds = Math.max(1, Math.round(config.STOREFRONT_CACHE_MS / 1000));
    this.cacheControl = `public, max-age=${seconds}, stale-while-revalidate=${seconds}`;
  }

  /** Upcoming and active sales. */
  @Get()
  async list(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ items: StorefrontSale[]; serverTime: Date }> {
    void reply.header('cache-control', this.cacheControl);
    return { items: await this.storefront.list(), serverTime: new Date() };
  }

  /** One sale with remaining stock, status and the server's clock for the countdown. */
  @Get(':id')
  async detail(
    @Param('id') id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StorefrontSale & { serverTime: Date }> {
    const sale = await this.storefront.detail(id);
    void reply.header('cache-control', this.cacheControl);
    return { ...sale, serverTime: new Date() };
  }
}
