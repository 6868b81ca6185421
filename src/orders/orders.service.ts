import { Inject, Injectable } from '@nestjs/common';
import type { Order, OrderStatus } from '../generated/prisma/client.js';
import type { AuthUser } from '../auth/auth.types.js';
import { GateTickets } from '../gate/gate-tickets.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { pageOf, type Page } from '../infra/http/page-query.dto.js';
import { OrdersRepository } from './orders.repository.js';
import { AuthConfig } from '../infra/config/app-config.js';
import { OrderIdTags, ulidTime } from '../infra/ids/ids.js';
import { RedisEpoch } from '../infra/redis/redis-epoch.js';

export interface OrderView {
  id: string;
  saleId: string;
  userId: string;
  quantity: number;
  /** Minor units; null while QUEUED (fixed when the order is persisted). */
  amount: number | null;
  status: OrderStatus;
  failureReason: string | null;
  paymentDeadline: Date | null;
  admittedAt: Date;
  updatedAt: Date;
}

function view(order: Order): OrderView {
  return {
    id: order.id,
    saleId: order.saleId,
    userId: order.userId,
    quantity: order.quantity,
    amount: order.amount,
    status: order.status,
    failureReason: order.failureReason,
    paymentDeadline: order.paymentDeadline,
    admittedAt: order.admittedAt,
    updatedAt: order.updatedAt,
  };
}

/**
 * Reading orders: the owner or an admin; anyone else gets 404 (not 403: ids
 * are not disclosed). An order its shopper was told was admitted (202), then
 * lost with Redis's data before it was persisted, is 410 ORDER_LOST to that
 * shopper: final, nothing was charged.
 */
@Injectable()
export class OrdersService {
  private readonly tags: OrderIdTags;

  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(GateTickets) private readonly gate: GateTickets,
    @Inject(RedisEpoch) private readonly epoch: RedisEpoch,
    @Inject(AuthConfig) auth: AuthConfig,
  ) {
    this.tags = new OrderIdTags(auth.JWT_SECRET);
  }

  async get(id: string, caller: AuthUser): Promise<OrderView> {
    const order = await this.orders.findById(id);
    let found: OrderView | null = order ? view(order) : null;
    if (!found) {
      // Admitted but not persisted yet: the ticket in the gate says QUEUED.
      const ticket = await this.gate.findTicket(id);
      const persisted = ticket ? null : await this.orders.findById(id); // persisted meanwhile
      if (persisted) found = view(persisted);
      else if (ticket) {
        found = {
          id: ticket.orderId,
          saleId: ticket.saleId,
          userId: ticket.userId,
          quantity: ticket.quantity,
          amount: null,
          status: 'QUEUED',
          failureReason: null,
          paymentDeadline: null,
          admittedAt: new Date(ticket.admittedAt),
          updatedAt: new Date(ticket.admittedAt),
        };
      }
    }
    if (!found && (await this.lostWithRedis(id, caller))) throw lost();
    if (!found || (found.userId !== caller.id && caller.role !== 'ADMIN')) throw notFound();
    return found;
  }

  /**
   * In neither Postgres nor Redis, issued to this caller (the id's tag), and
   * made before the Redis that serves now began serving (RedisEpoch): its
   * ticket was in a Redis that is gone (restarted empty or without its last
   * writes, or failed over) and it was never persisted, so it never will be.
   */
  private async lostWithRedis(id: string, caller: AuthUser): Promise<boolean> {
    if (!this.tags.issuedTo(id, caller.id)) return false;
    return ulidTime(id) < (await this.epoch.since());
  }

  async mine(caller: AuthUser, page: number, pageSize: number): Promise<Page<OrderView>> {
    const { items, total } = await this.orders.page(caller.id, page, pageSize);
    return pageOf({ page, pageSize }, items.map(view), total);
  }
}

function lost(): DomainError {
  return new DomainError(
    'ORDER_LOST',
    'This order was admitted but lost in a data loss before it was recorded; nothing was charged. Try the purchase again',
  );
}

function notFound(): DomainError {
  return new DomainError('ORDER_NOT_FOUND', 'No such order');
}
