import type { DefaultJobOptions, Job, JobsOptions } from 'bullmq';

/**
 * Queue, job and event names are contracts: jobs with these names may be
 * sitting in Redis. Never rename a value without a migration plan; add new
 * ones instead.
 */
export const QueueName = {
  /** Worker liveness. */
  Ops: 'ops',
  /** Sale housekeeping: the stock preheat ahead of startsAt, reconcile, the waiting rooms (admitter, turns that end). */
  Promotions: 'promotions',
  /** Admitted tickets become orders; order state follows inventory's answers. */
  Orders: 'orders',
  /** The stock of record reacts to placed orders. */
  Inventory: 'inventory',
  /** Order events become notification records and per-channel send jobs. */
  Notifications: 'notifications',
  /** Sends emails: a batch per order-event job, or one message retried alone (job id = notification id). */
  Email: 'email',
  /** Sends SMS: a batch per order-event job, or one message retried alone (job id = notification id). */
  Sms: 'sms',
  /** Payment deadlines: one delayed job per order awaiting payment. */
  Timeouts: 'timeouts',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Domain events, written to the outbox and relayed to their consumers' queues. */
export const EventName = {
  OrderPlaced: 'order.placed',
  InventoryReserved: 'inventory.reserved',
  InventoryRejected: 'inventory.rejected',
  /** Inventory took back the stock of cancelled orders: their units may go back to the gate. */
  InventoryReturned: 'inventory.returned',
  OrderConfirmed: 'order.confirmed',
  OrderPaid: 'order.paid',
  OrderCancelled: 'order.cancelled',
} as const;
export type EventName = (typeof EventName)[keyof typeof EventName];

/** Commands: jobs put on a queue directly (not through the outbox). */
export const JobName = {
  /** Answers with the worker's identity; used to probe that a queue is served. */
  Ping: 'ops.ping',
  /** Loads a sale's gate state into Redis (idempotent). */
  PreheatSale: 'sale.preheat',
  /**
   * Persists one admitted ticket as an order (job id = order id). Since
   * batches, only a poison ticket split off its batch travels alone this way
   * (and jobs added before batches existed).
   */
  PlaceOrder: 'order.place',
  /** Persists a batch of admitted tickets as orders (job id = the batch id in every ticket). */
  PlaceOrders: 'orders.place',
  /** Re-enqueues admitted tickets whose job never arrived. */
  SweepTickets: 'orders.sweep',
  /** Sends the email of one notification record (job id = notification id). */
  SendEmail: 'notification.email',
  /** Sends the SMS of one notification record (job id = notification id). */
  SendSms: 'notification.sms',
  /** Sends the emails of many notification records (one per order-event batch; job id from the ids). */
  SendEmails: 'notifications.email',
  /** Sends the SMS of many notification records (one per order-event batch; job id from the ids). */
  SendSmsBatch: 'notifications.sms',
  /** Cancels an order still unpaid at its payment deadline (delayed; job id = expireJobId(orderId)). */
  ExpireOrder: 'order.expire',
  /**
   * Cancels the orders still unpaid among those whose payment deadlines fall
   * in one second (delayed to its end): one job per confirmed batch and second.
   */
  ExpireOrders: 'orders.expire',
  /** Compares every open sale's gate with the orders of record; rebuilds a missing gate. */
  ReconcileSales: 'sales.reconcile',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** Which queue carries each command. */
export const JOB_QUEUE: { readonly [J in JobName]: QueueName } = {
  [JobName.Ping]: QueueName.Ops,
  [JobName.PreheatSale]: QueueName.Promotions,
  [JobName.PlaceOrder]: QueueName.Orders,
  [JobName.PlaceOrders]: QueueName.Orders,
  [JobName.SweepTickets]: QueueName.Orders,
  [JobName.SendEmail]: QueueName.Email,
  [JobName.SendSms]: QueueName.Sms,
  [JobName.SendEmails]: QueueName.Email,
  [JobName.SendSmsBatch]: QueueName.Sms,
  [JobName.ExpireOrder]: QueueName.Timeouts,
  [JobName.ExpireOrders]: QueueName.Timeouts,
  [JobName.ReconcileSales]: QueueName.Promotions,
};

/** Which queues receive each event (job name = event name; data = EventBatch). */
export const EVENT_CONSUMERS: { readonly [E in EventName]: readonly QueueName[] } = {
  [EventName.OrderPlaced]: [QueueName.Inventory],
  [EventName.InventoryReserved]: [QueueName.Orders],
  [EventName.InventoryRejected]: [QueueName.Orders],
  [EventName.InventoryReturned]: [QueueName.Orders],
  [EventName.OrderConfirmed]: [QueueName.Notifications, QueueName.Timeouts],
  [EventName.OrderPaid]: [QueueName.Notifications, QueueName.Promotions],
  [EventName.OrderCancelled]: [QueueName.Inventory, QueueName.Notifications, QueueName.Promotions],
};

/**
 * Payload of each command, by job name. Each module that publishes a job
 * declares its payload next to it (TypeScript declaration merging:
 * `declare module '…/infra/queues/queues.js' { interface JobData { … } }`), so
 * QueueService.enqueue is typed without this file knowing any module; beside
 * it, the payload's guard (PayloadGuard), which the worker checks every job with.
 */
export interface JobData {
  [JobName.Ping]: { sentAt: number };
}

/** One command job as producers give it: its name, its payload as JobData declares it, its options. */
export type JobItem = { [J in JobName]: { name: J; data: JobData[J]; opts?: JobsOptions } }[JobName];

/** What a job can be called: a command or an event (event jobs carry the event's name). */
export type JobKind = JobName | EventName;

/**
 * What an event job carries, by event name. Filled in by events/event-batch.ts
 * (declaration merging, as JobData), so this file names no module.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface EventJobData {}

/** The data of a job of this name: JobData for a command, EventJobData for an event. */
export type DataOf<K extends JobKind> = K extends JobName
  ? JobData[K]
  : K extends keyof EventJobData
    ? EventJobData[K]
    : never;

/**
 * A job as its handler receives it (immich's `JobOf`): its data typed by its
 * name and already checked by the payload's guard (the dispatcher's work).
 */
export type JobOf<K extends JobKind> = Job<DataOf<K>, unknown, K>;

/**
 * The runtime check of a payload: true when `data` has the shape its type
 * declares. Declared by the module that declares the payload, next to it; the
 * dispatcher runs it on every job before the handler (a job that fails it goes
 * to the failed set at once), so it stays cheap: fields and their types, no
 * deep validation.
 */
export type PayloadGuard<T> = (data: unknown) => data is T;

/** The guard of every job's and every event job's payload, by name (assembled by the worker's root module). */
export type PayloadGuards = { readonly [K in JobKind]: PayloadGuard<DataOf<K>> };

/** The guard of a job that carries nothing (a scheduler's): any object, its fields ignored. */
export const carriesNothing = (data: unknown): data is Record<string, never> =>
  typeof data === 'object' && data !== null;

/** The payload guards of the jobs this file declares the payload of. */
export const OPS_JOB_GUARDS = {
  [JobName.Ping]: (data: unknown): data is JobData[typeof JobName.Ping] =>
    typeof (data as Partial<JobData[typeof JobName.Ping]> | null)?.sentAt === 'number',
} satisfies Partial<PayloadGuards>;

/** The id of an order's payment-deadline job (BullMQ custom ids may not contain ':'). */
export function expireJobId(orderId: string): string {
  return `expire-${orderId}`;
}

export const ALL_QUEUES: readonly QueueName[] = Object.values(QueueName);

/** Everything a queue's processor must handle: its commands and its events. */
export function jobsOf(queue: QueueName): string[] {
  const commands = Object.values(JobName).filter((j) => JOB_QUEUE[j] === queue);
  const events = Object.values(EventName).filter((e) => EVENT_CONSUMERS[e].includes(queue));
  return [...commands, ...events];
}

/** Exponential backoff that stops growing at the cap (see cappedBackoff). */
export const CAPPED_BACKOFF = 'capped';

/**
 * Jobs that must never be dropped (relayed events, payment deadlines) retry
 * until they succeed: a database outage of any length only delays them. A
 * malformed one still goes to the failed set at once (UnrecoverableError).
 */
export const UNTIL_DONE_ATTEMPTS = 1_000_000;

/** The worker-side strategy of CAPPED_BACKOFF: delay × 2^(n-1), at most capMs. */
export function cappedBackoff(capMs: number) {
  return (attemptsMade: number, type?: string, _err?: Error, job?: { opts: { backoff?: unknown } }): number => {
    const delay = Number((job?.opts.backoff as { delay?: number } | undefined)?.delay ?? 1000);
    if (type !== CAPPED_BACKOFF) return delay;
    return Math.min(delay * 2 ** Math.max(0, Math.min(attemptsMade - 1, 30)), capMs);
  };
}

/**
 * Defaults for every job: retries with capped exponential backoff; completed jobs
 * trimmed (count and age) so Redis does not fill up during a spike; failed
 * jobs kept for a week as the dead-letter view.
 */
export function defaultJobOptions(attempts: number, backoffMs: number): DefaultJobOptions {
  return {
    attempts,
    backoff: { type: CAPPED_BACKOFF, delay: backoffMs },
    removeOnComplete: { age: 3600, count: 100_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

/** Parses WORKER_QUEUES (`all` or a comma list) and refuses unknown names. */
export function parseWorkerQueues(value: string): QueueName[] {
  if (value.trim() === 'all') return [...ALL_QUEUES];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !(ALL_QUEUES as readonly string[]).includes(n));
  if (unknown.length || names.length === 0) {
    throw new Error(
      `WORKER_QUEUES names unknown queue(s) ${unknown.join(', ') || '(none)'}: use "all" or some of ${ALL_QUEUES.join(', ')}`,
    );
  }
  return [...new Set(names)] as QueueName[];
}

/** Compile-time check: every job has its payload declared in JobData (by the module that publishes it). */
export const EVERY_JOB_HAS_DATA: Exclude<JobName, keyof JobData> extends never ? true : never = true;
