import { UnrecoverableError } from 'bullmq';
import type { EventName } from '../infra/queues/queues.js';

/**
 * The payload of each event, by event name. Each module that publishes events
 * declares their payloads next to them (TypeScript declaration merging:
 * `declare module '…/events/event-batch.js' { interface EventPayloads { … } }`),
 * as jobs do with JobData, so the envelope names no module.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface EventPayloads {}

/** Compile-time check: every event has its payload declared in EventPayloads (by the module that publishes it). */
export const EVERY_EVENT_HAS_PAYLOAD: Exclude<EventName, keyof EventPayloads> extends never ? true : never = true;

/**
 * One event as its consumers see it. `eventId` names the outbox row that
 * carried it: a row holds the events of one type committed together (a batch
 * of orders), so several events share an id. Consumers record the ids they
 * handled, so a redelivered row changes nothing.
 */
export interface EventJob<E extends EventName = EventName> {
  eventId: string;
  type: E;
  payload: EventPayloads[E];
}

/** One outbox row as relayed: its id and the payloads of its events. */
export interface EventRow<E extends EventName = EventName> {
  eventId: string;
  payloads: EventPayloads[E][];
}

/**
 * The data of an event job: outbox rows of one type (the job's name), in id
 * order (job id = the first and last row id). A row is never split across
 * jobs; a BullMQ job costs several Redis round trips, and the consumers write
 * a job's events in one transaction anyway.
 */
export interface EventBatch<E extends EventName = EventName> {
  rows: EventRow<E>[];
}

/**
 * The events of an event job: rows (today), `{events}` (jobs relayed before
 * rows carried batches) or a single event (before that). A malformed job
 * throws UnrecoverableError: it goes to the failed set at once, retrying
 * cannot mend it.
 */
export function eventsOf<E extends EventName>(data: unknown, type: E): EventJob<E>[] {
  const malformed = (): never => {
    throw new UnrecoverableError(`malformed ${type} job`);
  };
  const d = data as { rows?: unknown; events?: unknown } | null;
  let list: EventJob<E>[];
  if (Array.isArray(d?.rows)) {
    list = [];
    for (const row of d.rows as Partial<EventRow<E>>[]) {
      if (typeof row?.eventId !== 'string' || !Array.isArray(row.payloads)) return malformed();
      for (const payload of row.payloads) list.push({ eventId: row.eventId, type, payload });
    }
  } else {
    list = Array.isArray(d?.events) ? (d.events as EventJob<E>[]) : [data as EventJob<E>];
  }
  if (list.length === 0) return malformed();
  for (const e of list) {
    if (typeof e?.eventId !== 'string' || e.type !== type || typeof e.payload !== 'object' || e.payload === null) {
      throw new UnrecoverableError(`malformed ${type} event`);
    }
  }
  return list;
}
