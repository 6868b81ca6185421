import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import { JobName, QueueName, type JobData } from '../infra/queues/queues.js';
import { SendFailure } from './channels/send-failure.js';
import { DeliveryService, type DeliveryOutcome } from './delivery.service.js';
import type { NotificationChannel } from './notification.types.js';

/** Validates a send job and runs it; a permanent failure skips the remaining attempts. */
async function runSend(
  delivery: DeliveryService,
  job: Job,
  expected: typeof JobName.SendEmail | typeof JobName.SendSms,
  channel: NotificationChannel,
): Promise<DeliveryOutcome> {
  if (job.name !== expected) throw new UnrecoverableError(`no handler for job ${job.name}`);
  const data = job.data as Partial<JobData[typeof expected]> | null;
  if (typeof data?.notificationId !== 'string') throw new UnrecoverableError(`malformed ${job.name} job`);
  const attempt = { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1 };
  try {
    return await delivery.deliver(data.notificationId, channel, attempt);
  } catch (err) {
    if (err instanceof SendFailure && err.permanent) throw new UnrecoverableError(err.message);
    throw err;
  }
}

/** Sends emails, one job per notification (job id = notification id). */
@Processor(QueueName.Email)
export class EmailProcessor extends WorkerHost {
  static readonly handles = [JobName.SendEmail] as const;

  constructor(@Inject(DeliveryService) private readonly delivery: DeliveryService) {
    super();
  }

  process(job: Job): Promise<DeliveryOutcome> {
    return runSend(this.delivery, job, JobName.SendEmail, 'EMAIL');
  }
}

/** Sends SMS, one job per notification (job id = notification id). */
@Processor(QueueName.Sms)
export class SmsProcessor extends WorkerHost {
  static readonly handles = [JobName.SendSms] as const;

  constructor(@Inject(DeliveryService) private readonly delivery: DeliveryService) {
    super();
  }

  process(job: Job): Promise<DeliveryOutcome> {
    return runSend(this.delivery, job, JobName.SendSms, 'SMS');
  }
}
