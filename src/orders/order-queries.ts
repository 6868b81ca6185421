import { Inject, Injectable } from '@nestjs/common';
import type { OrderStatus } from '../generated/prisma/client.js';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { OrdersRepository } from './orders.repository.js';

/** An order as other modules read it. */
export interface OrderSummary {
  id: string;
  saleId: string;
  userId: string;
  quantity: number;
  /** Minor units. */
  amount: number;
  status: OrderStatus;
  paymentDeadline: Date | null;
}

/** One order of a sale, as a gate rebuild counts it. */
export interface OrderOfSale {
  id: string;
  userId: string;
  quantity: number;
  status: OrderStatus;
  paymentDeadline: Date | null;
}

/**
 * The reads of `orders` other modules may make (they never query the table
 * themselves): a sale's orders for a gate rebuild, whether a sale has any,
 * and the orders a message is about.
 */
@Injectable()
export class OrderQueries {
  constructor(@Inject(OrdersRepository) private readonly orders: OrdersRepository) {}

  /** Every order of the sale. */
  ofSale(saleId: string): Promise<OrderOfSale[]> {
    return this.orders.ofSale(saleId);
  }

  /** How many orders the sale has (in the caller's transaction when given). */
  countOfSale(saleId: string, tx?: Tx): Promise<number> {
    return this.orders.countOfSale(saleId, tx);
  }

  /** These orders by id (missing ids left out). */
  async byIds(ids: string[]): Promise<Map<string, OrderSummary>> {
    if (ids.length === 0) return new Map();
    const rows = await this.orders.findMany(ids);
    return new Map(rows.map((o) => [o.id, o]));
  }
}
