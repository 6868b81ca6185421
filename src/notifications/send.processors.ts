import { Inject, Injectable, Logger } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { NotifyConfig } from '../infra/config/app-config.js';
import { JobConsumer, OnJob } from '../infra/queues/on-job.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { JobName, QueueName, type JobItem, type JobOf } from '../infra/queues/queues.js';
import { describeError, SendFailure } from './channels/send-failure.js';
import { DeliveryService, type Attempt, type DeliveryOutcome } from './delivery.service.js';
import { Semaphore } from '../infra/concurrency/semaphore.js';
import type { NotificationChannel } from './notification.types.js';
import { randomUUID } from 'node:crypto';
import { shuttingDown } from '../infra/lifecycle.js';
import { JobWorkers } from '../infra/queues/job-workers.js';
import { retryAloneJob, sendBatchJobs, sendQueue } from './send-jobs.js';

/** What became of the messages of one batch job. */
export interface BatchOutcome {
  sent: number;
  alreadySent: number;
  alreadyFailed: number;
  /** Marked FAILED by this job (permanent failure, or NOTIFY_ATTEMPTS is 1). */
  failed: number;
  /** Failed transiently: each continues as a job of its own (job id = notification id). */
  retryingAlone: number;
  /** Not started when this worker began to shut down: handed back in a new batch job, still QUEUED. */
  handedBack: number;
}

/**
 * Sends emails and SMS, each channel on its own queue.
 *
 * - A batch job (`notifications.email` / `notifications.sms`, one per group
 *   of order events and channel) carries many notification ids. Each message
 *   is claimed, sent and recorded on its own by DeliveryService, as its first
 *   attempt of NOTIFY_ATTEMPTS. A transient failure goes on alone as a single
 *   send job (job id = notification id, the attempts left, the channel's
 *   backoff), so one bad recipient does not retry the others; a permanent one
 *   marks only its record FAILED. The batch job itself completes once every
 *   message has an outcome; it fails (and BullMQ runs it again) only when the
 *   single jobs could not be enqueued, and then the claims keep every message
 *   already sent from going out again.
 * - A single job (`notification.email` / `notification.sms`) sends one
 *   message: an admin's retry, or a message continuing alone.
 *
 * Every message of a channel, whichever job carries it, waits for one of the
 * channel's NOTIFY_CONCURRENCY lanes: that bounds the messages in flight in
 * this worker, not the number of jobs. Once the worker is shutting down, a
 * batch starts no more messages: those it has not claimed are handed back
 * as a new batch job (still QUEUED) for another worker, so a shutdown waits
 * for the messages in flight only, not for whole batches.
 */
@Injectable()
@JobConsumer([QueueName.Email, QueueName.Sms])
export class SendProcessor {
  private readonly logger = new Logger('Send');
  /** NOTIFY_CONCURRENCY messages in flight per channel across every send job of this worker; the rest wait in arrival order. */
  private readonly lanes: { readonly [C in NotificationChannel]: Semaphore };
  /**
   * Sent messages whose SENT record is being written, at most NOTIFY_CONCURRENCY per channel: a message
   * lets its lane go once the transport has taken it (the next claim need not wait for this record), but
   * only when one of these is free, so a crash leaves at most 2 × NOTIFY_CONCURRENCY per channel SENDING.
   */
  private readonly recording: { readonly [C in NotificationChannel]: Semaphore };

  constructor(
    @Inject(DeliveryService) private readonly delivery: DeliveryService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(NotifyConfig) private readonly config: NotifyConfig,
    @Inject(JobWorkers) private readonly workers: JobWorkers,
  ) {
    const lane = () => new Semaphore(config.NOTIFY_CONCURRENCY, Number.POSITIVE_INFINITY);
    this.lanes = { EMAIL: lane(), SMS: lane() };
    this.recording = { EMAIL: lane(), SMS: lane() };
  }

  /**
   * One message through a lane: the claim and the send in the lane, the SENT record after it (see
   * `recording`). `start` is asked once the lane is taken; false leaves the message untouched.
   */
  private async send(
    channel: NotificationChannel,
    id: string,
    attempt: Attempt,
    start: () => boolean = () => true,
  ): Promise<DeliveryOutcome | 'handed-back'> {
    let recorded: (() => void) | undefined;
    const outcome = await this.lanes[channel].run(async () => {
      if (!start()) return 'handed-back' as const;
      const sent = await this.delivery.claimAndSend(id, channel, attempt);
      // Keeps the lane until a recording slot is free: the messages sent but not yet recorded stay bounded.
      if (sent === 'sent') recorded = await slotOf(this.recording[channel]);
      return sent;
    });
    if (recorded) {
      try {
        await this.delivery.recordSent(id);
      } finally {
        recorded();
      }
    }
    return outcome;
  }

  @OnJob(JobName.SendEmail)
  email(job: JobOf<typeof JobName.SendEmail>): Promise<DeliveryOutcome> {
    return this.one(job, 'EMAIL');
  }

  @OnJob(JobName.SendSms)
  sms(job: JobOf<typeof JobName.SendSms>): Promise<DeliveryOutcome> {
    return this.one(job, 'SMS');
  }

  @OnJob(JobName.SendEmails)
  emails(job: JobOf<typeof JobName.SendEmails>): Promise<BatchOutcome> {
    return this.many(job.data.notificationIds, 'EMAIL');
  }

  @OnJob(JobName.SendSmsBatch)
  smsBatch(job: JobOf<typeof JobName.SendSmsBatch>): Promise<BatchOutcome> {
    return this.many(job.data.notificationIds, 'SMS');
  }

  /** One message; a permanent failure skips the job's remaining attempts. */
  private async one(
    job: JobOf<typeof JobName.SendEmail | typeof JobName.SendSms>,
    channel: NotificationChannel,
  ): Promise<DeliveryOutcome> {
    const before = job.data.attemptsBefore ?? 0;
    const attempt: Attempt = { number: before + job.attemptsMade + 1, max: before + (job.opts.attempts ?? 1) };
    try {
      return (await this.send(channel, job.data.notificationId, attempt)) as DeliveryOutcome;
    } catch (err) {
      if (err instanceof SendFailure && err.permanent) throw new UnrecoverableError(err.message);
      throw err;
    }
  }

  /** Many messages of one channel, each its own first attempt; the transient failures go on alone. */
  private async many(ids: readonly string[], channel: NotificationChannel): Promise<BatchOutcome> {
    const attempt: Attempt = { number: 1, max: this.config.NOTIFY_ATTEMPTS };
    const outcome: BatchOutcome = {
      sent: 0,
      alreadySent: 0,
      alreadyFailed: 0,
      failed: 0,
      retryingAlone: 0,
      handedBack: 0,
    };
    const alone: JobItem[] = [];
    const handBack: string[] = [];
    const queue = sendQueue(channel);
    await Promise.all(
      [...new Set(ids)].map(async (id) => {
        try {
          const result = await this.send(channel, id, attempt, () => {
            // From the signal on (or from the worker's close, when the app is closed without one).
            if (!shuttingDown() && !this.workers.isClosing(queue)) return true;
            handBack.push(id);
            return false;
          });
          if (result === 'handed-back') outcome.handedBack++;
          else if (result === 'sent') outcome.sent++;
          else if (result === 'already-sent') outcome.alreadySent++;
          else outcome.alreadyFailed++;
        } catch (err) {
          // DeliveryService has recorded the outcome: FAILED when final, QUEUED again when not
          // (or left as it was when Postgres itself failed; the job alone sorts that out).
          const final = (err instanceof SendFailure && err.permanent) || attempt.number >= attempt.max;
          if (final) {
            outcome.failed++;
            return;
          }
          outcome.retryingAlone++;
          alone.push(retryAloneJob(this.config, channel, id));
          if (!(err instanceof SendFailure)) this.logger.warn(`${channel} ${id}: ${describeError(err)}; retried alone`);
        }
      }),
    );
    if (handBack.length) alone.push(...sendBatchJobs(this.config, channel, handBack, randomUUID()));
    if (alone.length) await this.queues.enqueueBulk(alone);
    return outcome;
  }
}

/** Takes a slot of `semaphore` (waiting in line if need be); the function returned gives it back. */
function slotOf(semaphore: Semaphore): Promise<() => void> {
  return new Promise((taken) => {
    void semaphore.run(() => new Promise<void>((done) => taken(() => done())));
  });
}
