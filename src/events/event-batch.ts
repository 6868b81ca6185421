import type { EventName, PayloadGuard } from '../infra/queues/queues.js';

/**
 * The payload of each event, by event name. Each module that publishes events
 * declares their payloads next to them (TypeScript declaration merging:
 * `declare module '…/events/event-batch.js' { interface EventPayloads { … } }`),
 * as jobs do with JobData, so the envelope names no module. Beside them, the
 * guards of those payloads (eventGuards), which the worker checks every event
 * job with before its handler runs.
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
 * What an event job carries: outbox rows (today), `{events}` (jobs relayed
 * before rows carried batches) or a single event (before that).
 */
export type EventData<E extends EventName = EventName> = EventBatch<E> | { events: EventJob<E>[] } | EventJob<E>;

/** EventData of each event name (an interface cannot be a mapped type; it can extend one). */
type EventDataByName = { [E in EventName]: EventData<E> };

declare module '../infra/queues/queues.js' {
  /** Event jobs carry EventData: their handlers get `JobOf<EventName.X>` typed by it. */
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the members come from EventDataByName
  interface EventJobData extends EventDataByName {}
}

/**
 * The guard of an event job's data, from the guard of its event's payload:
 * the envelope (rows, `{events}` or one event: ids, the type, at least one
 * event) and every payload.
 */
function eventDataGuard<E extends EventName>(
  type: E,
  isPayload: PayloadGuard<EventPayloads[E]>,
): PayloadGuard<EventData<E>> {
  const isEvent = (e: unknown): boolean => {
    const event = e as Partial<EventJob<E>> | null;
    return typeof event?.eventId === 'string' && event.type === type && isPayload(event.payload);
  };
  const isRow = (r: unknown): boolean => {
    const row = r as Partial<EventRow<E>> | null;
    return typeof row?.eventId === 'string' && Array.isArray(row.payloads) && row.payloads.every(isPayload);
  };
  return (data): data is EventData<E> => {
    const { rows, events } = (data ?? {}) as { rows?: unknown; events?: unknown };
    if (Array.isArray(rows)) {
      return rows.every(isRow) && (rows as EventRow<E>[]).some((row) => row.payloads.length > 0);
    }
    if (Array.isArray(events)) return events.length > 0 && events.every(isEvent);
    return isEvent(data);
  };
}

/**
 * The guards of a module's event jobs, from the guards of its events'
 * payloads (declared next to their EventPayloads types): the worker checks
 * every event job with them before its handler runs.
 */
export function eventGuards<E extends EventName>(payloads: {
  readonly [K in E]: PayloadGuard<EventPayloads[K]>;
}): { readonly [K in E]: PayloadGuard<EventData<K>> } {
  const entries = (Object.keys(payloads) as E[]).map((type) => [type, eventDataGuard(type, payloads[type])]);
  return Object.fromEntries(entries) as { readonly [K in E]: PayloadGuard<EventData<K>> };
}

/** The events of an event job (its data already checked by its guard), one per payload, in order. */
export function eventsOf<E extends EventName>(job: { name: E; data: EventData<E> }): EventJob<E>[] {
  const { name: type, data } = job;
  if ('rows' in data)
    return data.rows.flatMap((row) => row.payloads.map((payload) => ({ eventId: row.eventId, type, payload })));
  if ('events' in data) return data.events;
  return [data];
}
