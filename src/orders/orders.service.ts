import { Inject, Injectable } from '@nestjs/common';
import type { Order, OrderStatus } from '../generated/prisma/client.js';
import type { AuthUser } from '../auth/auth.types.js';
import { GateTickets } from '../gate/gate-tickets.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { OrdersRepository } from './orders.repository.js';
import { ULID } from '../infra/ids/ids.js';

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

/** Reading orders: the owner or an admin; anyone else gets 404 (not 403: ids are not disclosed). */
@Injectable()
export class OrdersService {
  constructor(
    @Inject(OrdersRepository) private readonly orders: OrdersRepository,
    @Inject(GateTickets) private readonly gate: GateTickets,
  ) {}

  async get(id: string, caller: AuthUser): Promise<OrderView> {
    if (!ULID.test(id)) throw notFound();
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
    if (!found || (found.userId !== caller.id && caller.role !== 'ADMIN')) throw notFound();
    return found;
  }

  async mine(caller: AuthUser, page: number, pageSize: number) {
    const { items, total } = await this.orders.page(caller.id, page, pageSize);
    return { items: items.map(view), page, pageSize, total };
  }
}

function notFound(): DomainError {
  return new DomainError('ORDER_NOT_FOUND', 'No such order');
}
