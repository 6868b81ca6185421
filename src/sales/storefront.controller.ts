import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { SalesConfig } from '../infra/config/app-config.js';
import { SaleId } from '../infra/http/id-params.js';
import { Answers } from '../infra/openapi/answers.js';
import type { StorefrontSale } from './sale-view.js';
import { STOREFRONT_SALE_EXAMPLE, StorefrontListDto, StorefrontSaleDetailDto } from './sale-views.dto.js';
import { StorefrontService } from './storefront.service.js';

const SERVER_TIME = '2026-11-21T12:05:00.000Z';

@ApiTags('storefront')
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
  @Answers({
    status: 200,
    body: StorefrontListDto,
    example: { items: [STOREFRONT_SALE_EXAMPLE], serverTime: SERVER_TIME },
  })
  async list(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ items: StorefrontSale[]; serverTime: Date }> {
    void reply.header('cache-control', this.cacheControl);
    return { items: await this.storefront.list(), serverTime: new Date() };
  }

  /** One sale with remaining stock, status and the server's clock for the countdown. */
  @Get(':id')
  @Answers({
    status: 200,
    body: StorefrontSaleDetailDto,
    example: { ...STOREFRONT_SALE_EXAMPLE, serverTime: SERVER_TIME },
    errors: ['SALE_NOT_FOUND'],
  })
  async detail(
    @SaleId() id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StorefrontSale & { serverTime: Date }> {
    const sale = await this.storefront.detail(id);
    void reply.header('cache-control', this.cacheControl);
    return { ...sale, serverTime: new Date() };
  }
}
