import { Inject, Injectable } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { JobName, QueueName, type JobOf } from '../infra/queues/queues.js';
import { SendFailure } from './channels/send-failure.js';
import { DeliveryService, type DeliveryOutcome } from './delivery.service.js';
import type { NotificationChannel } from './notification.types.js';

/** Runs a send job; a permanent failure skips the remaining attempts. */
async function runSend(
  delivery: DeliveryService,
  job: JobOf<typeof JobName.SendEmail | typeof JobName.SendSms>,
  channel: NotificationChannel,
): Promise<DeliveryOutcome> {
  const attempt = { number: job.attemptsMade + 1, max: job.opts.attempts ?? 1 };
  try {
    return await delivery.deliver(job.data.notificationId, channel, attempt);
  } catch (err) {
    if (err instanceof SendFailure && err.permanent) throw new UnrecoverableError(err.message);
    throw err;
  }
}

/** Sends emails and SMS, one job per notification (job id = notification id), each on its channel's queue. */
@Injectable()
@JobConsumer([QueueName.Email, QueueName.Sms])
export class SendProcessor {
  constructor(@Inject(DeliveryService) private readonly delivery: DeliveryService) {}

  @OnJob(JobName.SendEmail)
  email(job: JobOf<typeof JobName.SendEmail>): Promise<DeliveryOutcome> {
    return runSend(this.delivery, job, 'EMAIL');
  }

  @OnJob(JobName.SendSms)
  sms(job: JobOf<typeof JobName.SendSms>): Promise<DeliveryOutcome> {
    return runSend(this.delivery, job, 'SMS');
  }
}
