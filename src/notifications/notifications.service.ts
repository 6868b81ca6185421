import { ulidFactory } from '../infra/ids/ids.js';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { MicroBatcher } from '../infra/batching/micro-batcher.js';
import { NotifyConfig, QueueConfig } from '../infra/config/app-config.js';
import type { EventJob } from '../events/event-batch.js';
import { QueueService } from '../infra/queues/queues.module.js';
import type { NewNotification, NotificationChannel } from './notification.types.js';
import { sendBatchJobs } from './send-jobs.js';
import { OrderQueries } from '../orders/order-queries.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { UsersService } from '../users/users.service.js';
import { NotificationsRepository } from './notifications.repository.js';
import type { NotificationContext, NotificationTemplate } from './templates/template.js';
import { TEMPLATES, type OrderEvent } from './templates/templates.js';

type NotifiedEvent = EventJob<OrderEvent>;

/**
 * How long the first event job of a group waits for others before its
 * records are written (a full group of BATCH_SIZE events goes at once). At
 * ordinary load, order events arrive a few at a time: waiting a little lets
 * one transaction and one send job per channel carry many of them, for a
 * message that leaves that much later.
 */
export const RECORD_LINGER_MS = 200;

/** An order with the shopper and sale a message about it needs. */
interface OrderFacts {
  orderId: string;
  quantity: number;
  amount: number;
  status: string;
  paymentDeadline: Date | null;
  email: string;
  phone: string;
  shopperName: string | null;
  saleId: string;
  saleName: string;
}

/**
 * Turns order events into notification records and per-channel send jobs:
 * one batch job per channel for the records of a group of events (at most
 * SEND_BATCH_MAX each).
 *
 * The record (order, kind, channel) is unique, so a duplicate event adds no
 * message; a batch job's id is a digest of its ids, so enqueuing the same
 * list again is a no-op in BullMQ, and a record carried by two jobs is still
 * sent once (its claim). Records are written first and jobs enqueued after
 * the commit: if this worker dies in between, the event job is retried and
 * enqueues every record of the event still QUEUED.
 */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger('Notifications');
  private readonly nextId = ulidFactory();
  private readonly batcher: MicroBatcher<NotifiedEvent>;

  constructor(
    @Inject(NotificationsRepository) private readonly repository: NotificationsRepository,
    @Inject(OrderQueries) private readonly orders: OrderQueries,
    @Inject(UsersService) private readonly users: UsersService,
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(QueueConfig) queueConfig: QueueConfig,
    @Inject(NotifyConfig) private readonly config: NotifyConfig,
  ) {
    this.batcher = new MicroBatcher((events) => this.recordBatch(events), queueConfig.BATCH_SIZE, RECORD_LINGER_MS);
  }

  /** Handles the order events of one job (batched with the events arriving together). */
  onEvents(events: NotifiedEvent[]): Promise<void> {
    return this.batcher.submit(events);
  }

  private async recordBatch(events: NotifiedEvent[]): Promise<void> {
    const facts = await this.orderFacts([...new Set(events.map((e) => e.payload.orderId))]);
    const rows: NewNotification[] = [];
    for (const event of events) {
      const order = facts.get(event.payload.orderId);
      if (!order) {
        // The event is committed with its order, so this is a bug or a deleted order: nobody to tell.
        this.logger.error(`${event.type} ${event.eventId}: order ${event.payload.orderId} not found, no message`);
        continue;
      }
      rows.push(...this.render(event, order));
    }
    const queued = await this.repository.recordAndListQueued(rows);
    const byChannel = new Map<NotificationChannel, string[]>();
    for (const n of queued) {
      const ids = byChannel.get(n.channel);
      if (ids) ids.push(n.id);
      else byChannel.set(n.channel, [n.id]);
    }
    await this.queues.enqueueBulk([...byChannel].flatMap(([channel, ids]) => sendBatchJobs(this.config, channel, ids)));
  }

  /**
   * The orders, with their shopper's contact and the sale's name, each from
   * the module that owns it (sales from the cached lookup); orders missing
   * any of the three are left out.
   */
  private async orderFacts(orderIds: string[]): Promise<Map<string, OrderFacts>> {
    const orders = [...(await this.orders.byIds(orderIds)).values()];
    const saleIds = [...new Set(orders.map((o) => o.saleId))];
    const [contacts, sales] = await Promise.all([
      this.users.contacts(orders.map((o) => o.userId)),
      Promise.all(saleIds.map((id) => this.sales.find(id))),
    ]);
    const saleNames = new Map(saleIds.map((id, i) => [id, sales[i]?.name]));
    const facts = new Map<string, OrderFacts>();
    for (const o of orders) {
      const contact = contacts.get(o.userId);
      const saleName = saleNames.get(o.saleId);
      if (!contact || saleName === undefined) continue;
      facts.set(o.id, {
        orderId: o.id,
        quantity: o.quantity,
        amount: o.amount,
        status: o.status,
        paymentDeadline: o.paymentDeadline,
        email: contact.email,
        phone: contact.phone,
        shopperName: contact.name,
        saleId: o.saleId,
        saleName,
      });
    }
    return facts;
  }

  /** The records one event makes: one per channel its template writes for. */
  private render(event: NotifiedEvent, order: OrderFacts): NewNotification[] {
    const template = TEMPLATES[event.type] as NotificationTemplate | undefined;
    if (!template) throw new Error(`no notification template for ${event.type}`);
    const ctx: NotificationContext = {
      event: event.payload,
      order: {
        id: order.orderId,
        quantity: order.quantity,
        amount: order.amount,
        status: order.status,
        paymentDeadline: order.paymentDeadline,
      },
      shopper: { email: order.email, phone: order.phone, name: order.shopperName },
      sale: { id: order.saleId, name: order.saleName },
    };
    const base = { orderId: order.orderId, kind: event.type, eventId: event.eventId };
    const rows: NewNotification[] = [];
    if (template.email) {
      rows.push({ ...base, id: this.nextId(), channel: 'EMAIL', recipient: order.email, content: template.email(ctx) });
    }
    if (template.sms) {
      rows.push({ ...base, id: this.nextId(), channel: 'SMS', recipient: order.phone, content: template.sms(ctx) });
    }
    return rows;
  }
}
