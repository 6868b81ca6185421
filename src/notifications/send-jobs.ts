import type { JobsOptions } from 'bullmq';
import type { NotifyConfig } from '../infra/config/app-config.js';
import { JOB_QUEUE, JobName, type JobData, type PayloadGuards, type QueueName } from '../infra/queues/queues.js';
import type { NotificationChannel } from './notification.types.js';

/** The send job of each channel. */
export const SEND_JOB: { readonly [C in NotificationChannel]: typeof JobName.SendEmail | typeof JobName.SendSms } = {
  EMAIL: JobName.SendEmail,
  SMS: JobName.SendSms,
};

export function sendQueue(channel: NotificationChannel): QueueName {
  return JOB_QUEUE[SEND_JOB[channel]];
}

/** Every send job: job id = notification id, the channel's own attempts and backoff. */
export function sendJobOptions(config: NotifyConfig, notificationId: string): JobsOptions {
  return {
    jobId: notificationId,
    attempts: config.NOTIFY_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.NOTIFY_BACKOFF_MS },
  };
}

declare module '../infra/queues/queues.js' {
  interface JobData {
    /** Sends the email of one notification record (job id = notification id). */
    [JobName.SendEmail]: { notificationId: string };
    /** Sends the SMS of one notification record (job id = notification id). */
    [JobName.SendSms]: { notificationId: string };
  }
}

const isSend = (data: unknown): data is { notificationId: string } =>
  typeof (data as Partial<JobData[typeof JobName.SendEmail]> | null)?.notificationId === 'string';

/** The guards of the send jobs' payloads (checked by the worker before a handler runs). */
export const SEND_JOB_GUARDS = {
  [JobName.SendEmail]: isSend,
  [JobName.SendSms]: isSend,
} satisfies Partial<PayloadGuards>;
