import { createHash } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import type { NotifyConfig } from '../infra/config/app-config.js';
import { JOB_QUEUE, JobName, type JobItem, type PayloadGuards, type QueueName } from '../infra/queues/queues.js';
import type { NotificationChannel } from './notification.types.js';

/** The job that sends one message of each channel (admin retries, and a message retried alone). */
export const SEND_JOB: { readonly [C in NotificationChannel]: typeof JobName.SendEmail | typeof JobName.SendSms } = {
  EMAIL: JobName.SendEmail,
  SMS: JobName.SendSms,
};

/** The job that sends many messages of each channel (what order events make). */
export const SEND_BATCH_JOB: {
  readonly [C in NotificationChannel]: typeof JobName.SendEmails | typeof JobName.SendSmsBatch;
} = {
  EMAIL: JobName.SendEmails,
  SMS: JobName.SendSmsBatch,
};

/**
 * Most notification ids one batch job carries: a larger group of events makes
 * several jobs, which other workers (or lanes) can take in parallel, and a
 * worker that dies mid-batch hands back at most this many to the stalled check.
 */
export const SEND_BATCH_MAX = 200;

export function sendQueue(channel: NotificationChannel): QueueName {
  return JOB_QUEUE[SEND_JOB[channel]];
}

/** A send job of one message: job id = notification id, the channel's own attempts and backoff. */
export function sendJobOptions(config: NotifyConfig, notificationId: string): JobsOptions {
  return {
    jobId: notificationId,
    attempts: config.NOTIFY_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.NOTIFY_BACKOFF_MS },
  };
}

/**
 * The job that carries on alone with a message its batch tried once and that
 * failed transiently: job id = notification id, the attempts left, and the
 * retry delays the message would have had as a job of its own from the start
 * (backoff, then 2 × backoff, 4 × …). `attemptsBefore` keeps the count
 * ("attempt 2/5") and the last attempt's FAILED right.
 */
export function retryAloneJob(config: NotifyConfig, channel: NotificationChannel, notificationId: string): JobItem {
  return {
    name: SEND_JOB[channel],
    data: { notificationId, attemptsBefore: 1 },
    opts: {
      jobId: notificationId,
      attempts: config.NOTIFY_ATTEMPTS - 1,
      delay: config.NOTIFY_BACKOFF_MS,
      backoff: { type: 'exponential', delay: 2 * config.NOTIFY_BACKOFF_MS },
    },
  };
}

/**
 * The batch jobs of these records of one channel, at most SEND_BATCH_MAX ids
 * each. A job's id is a digest of the ids it carries, so the same list
 * enqueued again (an order-event job run twice before anything was sent) is
 * a no-op; a different list is a new job, and the claims make sure no record
 * is sent twice whichever jobs carry it.
 */
export function sendBatchJobs(
  config: NotifyConfig,
  channel: NotificationChannel,
  ids: readonly string[],
  /** Mixed into the job ids: a list handed back at shutdown must never be taken for a job that already exists. */
  salt = '',
): JobItem[] {
  const jobs: JobItem[] = [];
  for (let i = 0; i < ids.length; i += SEND_BATCH_MAX) {
    const notificationIds = ids.slice(i, i + SEND_BATCH_MAX);
    const digest = createHash('sha256')
      .update(salt + notificationIds.join(','))
      .digest('base64url')
      .slice(0, 32);
    jobs.push({
      name: SEND_BATCH_JOB[channel],
      data: { notificationIds },
      opts: {
        jobId: `${channel.toLowerCase()}-batch-${digest}`,
        attempts: config.NOTIFY_ATTEMPTS,
        backoff: { type: 'exponential', delay: config.NOTIFY_BACKOFF_MS },
      },
    });
  }
  return jobs;
}

/** One message's send job. */
interface SendOne {
  notificationId: string;
  /** Attempts its batch already made (a message that continues alone after a transient failure). */
  attemptsBefore?: number;
}

/** Many messages of one channel. */
interface SendMany {
  notificationIds: string[];
}

declare module '../infra/queues/queues.js' {
  interface JobData {
    /** Sends the email of one notification record (job id = notification id). */
    [JobName.SendEmail]: SendOne;
    /** Sends the SMS of one notification record (job id = notification id). */
    [JobName.SendSms]: SendOne;
    /** Sends the emails of many notification records, each claimed and recorded on its own. */
    [JobName.SendEmails]: SendMany;
    /** Sends the SMS of many notification records, each claimed and recorded on its own. */
    [JobName.SendSmsBatch]: SendMany;
  }
}

const isSendOne = (data: unknown): data is SendOne => {
  const d = data as Partial<SendOne> | null;
  if (typeof d?.notificationId !== 'string') return false;
  const before = d.attemptsBefore;
  return before === undefined || (Number.isInteger(before) && before >= 0);
};

const isSendMany = (data: unknown): data is SendMany => {
  const ids = (data as Partial<SendMany> | null)?.notificationIds;
  return (
    Array.isArray(ids) &&
    ids.length > 0 &&
    ids.length <= SEND_BATCH_MAX &&
    ids.every((id: unknown) => typeof id === 'string')
  );
};

/** The guards of the send jobs' payloads (checked by the worker before a handler runs). */
export const SEND_JOB_GUARDS = {
  [JobName.SendEmail]: isSendOne,
  [JobName.SendSms]: isSendOne,
  [JobName.SendEmails]: isSendMany,
  [JobName.SendSmsBatch]: isSendMany,
} satisfies Partial<PayloadGuards>;
