import { Inject, Injectable, Logger } from '@nestjs/common';
import { EmailSender } from './channels/email.sender.js';
import { describeError, SendFailure } from './channels/send-failure.js';
import { SmsSender } from './channels/sms.sender.js';
import type { ClaimedNotification, NotificationChannel } from './notification.types.js';
import { NotificationsRepository } from './notifications.repository.js';

/** What became of a send job. */
export type DeliveryOutcome = 'sent' | 'already-sent' | 'already-failed';

/** Which try of the job this is. */
export interface Attempt {
  number: number;
  max: number;
}

/** Reason recorded when an earlier run died during its transport call. */
export const INTERRUPTED =
  'interrupted: an earlier attempt stopped during the send, so the message may or may not have gone out; ' +
  'not sent again automatically (retry it by hand after checking)';

/**
 * Sends one notification at most once.
 *
 * 1. claim: QUEUED → SENDING (attempts + 1) in one conditional UPDATE; a
 *    record already SENT or FAILED is left alone (duplicate or late job).
 * 2. the transport call (SMTP or the SMS provider).
 * 3. record: SENT; or, on failure, FAILED (permanent, or the last attempt)
 *    or back to QUEUED (transient, attempts left) and the job is retried.
 *
 * A record found SENDING at step 1 means a run died between 1 and 3: the
 * message may have gone out. It is not sent again; it becomes FAILED with
 * INTERRUPTED as the reason, for an admin to decide. That window, one
 * transport call of one message, is the only place where the outcome is
 * unknown.
 */
@Injectable()
export class DeliveryService {
  private readonly logger = new Logger('Delivery');

  constructor(
    @Inject(NotificationsRepository) private readonly repository: NotificationsRepository,
    @Inject(EmailSender) private readonly email: EmailSender,
    @Inject(SmsSender) private readonly sms: SmsSender,
  ) {}

  /** Claims, sends and records one message. Throws a SendFailure when the job should fail (permanent: no retry). */
  async deliver(id: string, channel: NotificationChannel, attempt: Attempt): Promise<DeliveryOutcome> {
    const outcome = await this.claimAndSend(id, channel, attempt);
    if (outcome === 'sent') await this.recordSent(id);
    return outcome;
  }

  /**
   * Steps 1 and 2 of deliver, and step 3 on a failure: 'sent' means the
   * transport took the message and the record is still SENDING, for the
   * caller to record with recordSent (SendProcessor does it after it has
   * let the message's lane go). Throws as deliver does.
   */
  async claimAndSend(id: string, channel: NotificationChannel, attempt: Attempt): Promise<DeliveryOutcome> {
    const claim = await this.repository.claim(id);
    if (!claim.claimed) {
      switch (claim.status) {
        case 'SENT':
          return 'already-sent';
        case 'FAILED':
          return 'already-failed';
        case 'SENDING':
          await this.repository.fail(id, INTERRUPTED);
          throw new SendFailure(INTERRUPTED, true);
        case 'QUEUED': // claimed by another run a moment ago and released again: let the job retry
          throw new SendFailure(`notification ${id} is busy`, false);
        case null:
          throw new SendFailure(`notification ${id} does not exist`, true);
      }
    }
    const notification = claim.notification;
    try {
      if (notification.channel !== channel) {
        throw new SendFailure(`notification ${id} is ${notification.channel}, not ${channel}`, true);
      }
      await this.transport(notification);
    } catch (err) {
      const failure = err instanceof SendFailure ? err : new SendFailure(describeError(err), false);
      const final = failure.permanent || attempt.number >= attempt.max;
      const reason = `attempt ${attempt.number}/${attempt.max}: ${failure.message}`;
      if (final) await this.repository.fail(id, reason);
      else await this.repository.release(id, reason);
      if (final) this.logger.warn(`${notification.channel} ${id} FAILED: ${reason}`);
      throw failure;
    }
    return 'sent';
  }

  private transport(notification: ClaimedNotification): Promise<void> {
    return notification.channel === 'EMAIL' ? this.email.send(notification) : this.sms.send(notification);
  }

  /**
   * The message is out: record it, trying a little harder than once (a
   * record lost here leaves SENDING, which a later run turns into FAILED
   * INTERRUPTED, never into a second message).
   */
  async recordSent(id: string): Promise<void> {
    for (let tries = 1; ; tries++) {
      try {
        await this.repository.markSent(id);
        return;
      } catch (err) {
        if (tries >= 3) throw err;
        await new Promise((resolve) => setTimeout(resolve, 200 * tries));
      }
    }
  }
}
