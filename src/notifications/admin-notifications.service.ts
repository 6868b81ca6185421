import { Inject, Injectable } from '@nestjs/common';
import { NotifyConfig } from '../infra/config/app-config.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { pageOf, type Page } from '../infra/http/page-query.dto.js';
import { QueueService } from '../infra/queues/queues.module.js';
import type { NotificationView } from './notification.types.js';
import { NotificationsRepository, type NotificationFilter } from './notifications.repository.js';
import { SEND_JOB, sendJobOptions, sendQueue } from './send-jobs.js';

/** A page of notifications (GET /admin/notifications). */
export type NotificationPage = Page<NotificationView>;

/** The admin's view of notifications and the dead letters' retry. */
@Injectable()
export class AdminNotificationsService {
  constructor(
    @Inject(NotificationsRepository) private readonly repository: NotificationsRepository,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(NotifyConfig) private readonly config: NotifyConfig,
  ) {}

  /** Records by channel and status (the ops module's metrics). */
  counts(): Promise<{ channel: string; status: string; n: number }[]> {
    return this.repository.counts();
  }

  async page(filter: NotificationFilter): Promise<NotificationPage> {
    const { items, total } = await this.repository.page(filter);
    return pageOf(filter, items, total);
  }

  /**
   * Sends a FAILED notification again, with a fresh set of attempts. The
   * FAILED → QUEUED update is the guard: of two concurrent retries one wins,
   * the other gets NOTIFICATION_NOT_RETRYABLE. A SENT one is never resent.
   */
  async retry(id: string): Promise<NotificationView> {
    const requeued = await this.repository.requeue(id);
    if (!requeued) {
      const current = await this.repository.findById(id);
      if (!current) throw new DomainError('NOTIFICATION_NOT_FOUND', 'No such notification');
      throw new DomainError(
        'NOTIFICATION_NOT_RETRYABLE',
        `Notification ${id} is ${current.status}: only FAILED notifications can be retried`,
      );
    }
    try {
      await this.resubmit(id, requeued.channel);
    } catch (err) {
      await this.repository.fail(id, `retry could not be queued: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
    return requeued;
  }

  /** Moves the dead job back to waiting (attempts reset), or adds a new one when it is gone. */
  private async resubmit(id: string, channel: NotificationView['channel']): Promise<void> {
    const queue = this.queues.queue(sendQueue(channel));
    const job = await queue.getJob(id);
    const state = job ? await job.getState() : 'unknown';
    // A job that continued alone from a batch counts its batch's attempt: a fresh one below gets them all.
    if (job && state === 'failed' && !(job.data as { attemptsBefore?: number }).attemptsBefore) {
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      return;
    }
    if (job && ['waiting', 'delayed', 'active', 'prioritized', 'waiting-children'].includes(state)) return;
    // Completed, failed after a batch, or trimmed from Redis: a job with the same id would be ignored while it exists.
    if (job) await queue.remove(id);
    await this.queues.enqueue(SEND_JOB[channel], { notificationId: id }, sendJobOptions(this.config, id));
  }
}
