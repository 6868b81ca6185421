import { ulidFactory } from '../infra/ids/ids.js';
import { Injectable } from '@nestjs/common';
import type { Tx } from '../infra/prisma/prisma.service.js';
import { SqlTx } from '../infra/prisma/sql-tx.js';
import type { EventName } from '../infra/queues/queues.js';
import type { EventPayloads } from './event-batch.js';

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
 *
 * One row per event type per call: a batch of 500 placed orders is one row
 * whose payload is the array of their 500 events (its aggregate_id is the
 * first one's). The row is relayed and deduplicated as a unit, so an order
 * costs the outbox a share of one row instead of a row, an update and a
 * processed-event record of its own at every hop.
 */
@Injectable()
export class OutboxWriter {
  private readonly nextId = ulidFactory();

  /** `tx`: the caller's Prisma transaction, or a hot batch transaction (SqlTx). */
  async write(tx: Tx | SqlTx, events: NewEvent[]): Promise<string[]> {
    if (events.length === 0) return [];
    const byType = new Map<EventName, NewEvent[]>();
    for (const e of events) {
      const list = byType.get(e.type);
      if (list) list.push(e);
      else byType.set(e.type, [e]);
    }
    const rows = [...byType].map(([type, list]) => ({
      id: this.nextId(),
      type,
      aggregateId: list[0]!.aggregateId,
      payload: JSON.stringify(list.map((e) => e.payload)),
    }));
    // One statement (one round trip): the rows, and the NOTIFY that wakes the relay at
    // once instead of at its next poll (delivered at commit; a data-modifying CTE always runs).
    const columns = [
      rows.map((r) => r.id),
      rows.map((r) => r.type),
      rows.map((r) => r.aggregateId),
      rows.map((r) => r.payload),
    ] as const;
    if (tx instanceof SqlTx) {
      await tx.query(
        'outbox_write',
        `WITH inserted AS (
           INSERT INTO outbox_events (id, type, aggregate_id, payload)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]))
         SELECT pg_notify('${OUTBOX_CHANNEL}', '')`,
        [...columns],
      );
    } else {
      await tx.$executeRaw`
        WITH inserted AS (
          INSERT INTO outbox_events (id, type, aggregate_id, payload)
          SELECT * FROM unnest(${columns[0]}::text[], ${columns[1]}::text[], ${columns[2]}::text[], ${columns[3]}::jsonb[]))
        SELECT pg_notify(${OUTBOX_CHANNEL}, '')`;
    }
    return rows.map((r) => r.id);
  }
}

/**
 * Consumers record the events they handled under a unique key; handling the
 * same event twice (a relay redelivery, a retried job) then changes nothing.
 */
@Injectable()
export class ProcessedEvents {
  /** Records the ids for this consumer; returns those not seen before (`tx`: Prisma's or a SqlTx). */
  async claim(tx: Tx | SqlTx, consumer: string, eventIds: string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    // Sorted: two transactions claiming overlapping ids take their locks in the same order (no deadlock).
    eventIds = [...new Set(eventIds)].sort();
    const rows =
      tx instanceof SqlTx
        ? await tx.query<{ event_id: string }>(
            'processed_claim',
            `INSERT INTO processed_events (consumer, event_id)
             SELECT $1::text, unnest($2::text[])
             ON CONFLICT DO NOTHING
             RETURNING event_id`,
            [consumer, eventIds],
          )
        : await tx.$queryRaw<{ event_id: string }[]>`
            INSERT INTO processed_events (consumer, event_id)
            SELECT ${consumer}, unnest(${eventIds}::text[])
            ON CONFLICT DO NOTHING
            RETURNING event_id`;
    return new Set(rows.map((r) => r.event_id.trim()));
  }
}
