import { Injectable } from '@nestjs/common';
import { monotonicFactory } from 'ulid';
import type { Prisma } from '../generated/prisma/client.js';
import type { EventName, EventPayloads } from '../infra/queues/queues.js';

type Tx = Prisma.TransactionClient;

export interface NewEvent<E extends EventName = EventName> {
  type: E;
  aggregateId: string;
  payload: EventPayloads[E];
}

/** The NOTIFY channel that wakes the relay. */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * Writes domain events into the outbox inside the caller's transaction, so an
 * event exists exactly when the change it announces committed.
 */
@Injectable()
export class OutboxWriter {
  private readonly nextId = monotonicFactory();

  async write(tx: Tx, events: NewEvent[]): Promise<string[]> {
    if (events.length === 0) return [];
    const ids = events.map(() => this.nextId());
    await tx.$executeRaw`
      INSERT INTO outbox_events (id, type, aggregate_id, payload)
      SELECT * FROM unnest(
        ${ids}::text[], ${events.map((e) => e.type)}::text[],
        ${events.map((e) => e.aggregateId)}::text[], ${events.map((e) => JSON.stringify(e.payload))}::jsonb[])`;
    // Delivered at commit; wakes the relay at once instead of at its next poll.
    await tx.$executeRaw`SELECT pg_notify(${OUTBOX_CHANNEL}, '')`;
    return ids;
  }
}

/**
 * Consumers record the events they handled under a unique key; handling the
 * same event twice (a relay redelivery, a retried job) then changes nothing.
 */
@Injectable()
export class ProcessedEvents {
  /** Records the ids for this consumer; returns those not seen before. */
  async claim(tx: Tx, consumer: string, eventIds: string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = await tx.$queryRaw<{ event_id: string }[]>`
      INSERT INTO processed_events (consumer, event_id)
      SELECT ${consumer}, unnest(${eventIds}::text[])
      ON CONFLICT DO NOTHING
      RETURNING event_id`;
    return new Set(rows.map((r) => r.event_id.trim()));
  }
}
