import type { DefaultJobOptions } from 'bullmq';

/**
 * Queue and job names are contracts: jobs with these names may be sitting in
 * Redis. Never rename a value without a migration plan; add new ones instead.
 */
export const QueueName = {
  /** Worker liveness and maintenance. */
  Ops: 'ops',
  /** Sale housekeeping: the stock preheat ahead of startsAt. */
  Promotions: 'promotions',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = {
  /** Answers with the worker's identity; used to probe that a queue is served. */
  Ping: 'ops.ping',
  /** Loads a sale's gate state into Redis (idempotent). */
  PreheatSale: 'sale.preheat',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** Which queue carries each job. */
export const JOB_QUEUE: { readonly [J in JobName]: QueueName } = {
  [JobName.Ping]: QueueName.Ops,
  [JobName.PreheatSale]: QueueName.Promotions,
};

/** Payload of each job. */
export interface JobData {
  [JobName.Ping]: { sentAt: number };
  [JobName.PreheatSale]: { saleId: string };
}

export const ALL_QUEUES: readonly QueueName[] = Object.values(QueueName);

/**
 * Defaults for every job: a few retries with exponential backoff; completed
 * jobs trimmed (count and age) so Redis does not fill up during a spike;
 * failed jobs kept for a week as the dead-letter view.
 */
export const DEFAULT_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 500 },
  removeOnComplete: { age: 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

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
