import { beforeEach, describe, expect, it } from '@jest/globals';
import { newTestService, type Mocked } from '../testing/new-test-service.js';
import { EmailSender } from './channels/email.sender.js';
import { SendFailure } from './channels/send-failure.js';
import { SmsSender } from './channels/sms.sender.js';
import { DeliveryService, INTERRUPTED } from './delivery.service.js';
import type { ClaimedNotification } from './notification.types.js';
import { NotificationsRepository } from './notifications.repository.js';

const email: ClaimedNotification = {
  id: 'n1',
  orderId: 'o1',
  kind: 'order.confirmed',
  channel: 'EMAIL',
  recipient: 'a@example.test',
  content: { subject: 's', text: 't', html: '<p>t</p>' },
  attempts: 1,
};

describe('DeliveryService: at most one message per notification', () => {
  let delivery: DeliveryService;
  let repository: Mocked<NotificationsRepository>;
  let emails: Mocked<EmailSender>;
  let sms: Mocked<SmsSender>;

  beforeEach(() => {
    const t = newTestService(DeliveryService);
    delivery = t.sut;
    repository = t.mock(NotificationsRepository);
    emails = t.mock(EmailSender);
    sms = t.mock(SmsSender);
    repository.markSent.mockResolvedValue(undefined);
    repository.fail.mockResolvedValue(undefined);
    repository.release.mockResolvedValue(undefined);
  });

  it('claims, sends once on its channel, records SENT', async () => {
    repository.claim.mockResolvedValue({ claimed: true, notification: email });
    emails.send.mockResolvedValue(undefined);
    await expect(delivery.deliver('n1', 'EMAIL', { number: 1, max: 3 })).resolves.toBe('sent');
    expect(emails.send).toHaveBeenCalledTimes(1);
    expect(sms.send).not.toHaveBeenCalled();
    expect(repository.markSent).toHaveBeenCalledWith('n1');
  });

  it('claimAndSend leaves the SENT record to its caller (recordSent), after the send', async () => {
    repository.claim.mockResolvedValue({ claimed: true, notification: email });
    emails.send.mockResolvedValue(undefined);
    await expect(delivery.claimAndSend('n1', 'EMAIL', { number: 1, max: 3 })).resolves.toBe('sent');
    expect(emails.send).toHaveBeenCalledTimes(1);
    expect(repository.markSent).not.toHaveBeenCalled();
    await delivery.recordSent('n1');
    expect(repository.markSent).toHaveBeenCalledWith('n1');
  });

  it('leaves a record already SENT or FAILED alone (a duplicate or late job)', async () => {
    repository.claim.mockResolvedValueOnce({ claimed: false, status: 'SENT' });
    await expect(delivery.deliver('n1', 'EMAIL', { number: 1, max: 3 })).resolves.toBe('already-sent');
    repository.claim.mockResolvedValueOnce({ claimed: false, status: 'FAILED' });
    await expect(delivery.deliver('n1', 'EMAIL', { number: 1, max: 3 })).resolves.toBe('already-failed');
    expect(emails.send).not.toHaveBeenCalled();
  });

  it('a record found SENDING (a run died mid-send) becomes FAILED INTERRUPTED, never a second message', async () => {
    repository.claim.mockResolvedValue({ claimed: false, status: 'SENDING' });
    const err = await delivery.deliver('n1', 'EMAIL', { number: 2, max: 3 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SendFailure);
    expect((err as SendFailure).permanent).toBe(true);
    expect(repository.fail).toHaveBeenCalledWith('n1', INTERRUPTED);
    expect(emails.send).not.toHaveBeenCalled();
  });

  it('a record being claimed by another run (QUEUED) is retried; a missing one is not', async () => {
    repository.claim.mockResolvedValueOnce({ claimed: false, status: 'QUEUED' });
    await expect(delivery.deliver('n1', 'EMAIL', { number: 1, max: 3 })).rejects.toMatchObject({ permanent: false });
    repository.claim.mockResolvedValueOnce({ claimed: false, status: null });
    await expect(delivery.deliver('n1', 'EMAIL', { number: 1, max: 3 })).rejects.toMatchObject({ permanent: true });
  });

  it('a transient failure with attempts left goes back to QUEUED; on the last attempt it is FAILED', async () => {
    repository.claim.mockResolvedValue({ claimed: true, notification: email });
    emails.send.mockRejectedValue(new Error('ECONNREFUSED'));
    await expect(delivery.deliver('n1', 'EMAIL', { number: 1, max: 2 })).rejects.toMatchObject({ permanent: false });
    expect(repository.release).toHaveBeenCalledWith('n1', 'attempt 1/2: ECONNREFUSED');
    expect(repository.fail).not.toHaveBeenCalled();
    await expect(delivery.deliver('n1', 'EMAIL', { number: 2, max: 2 })).rejects.toMatchObject({ permanent: false });
    expect(repository.fail).toHaveBeenCalledWith('n1', 'attempt 2/2: ECONNREFUSED');
    expect(repository.markSent).not.toHaveBeenCalled();
  });

  it('a permanent failure is FAILED at once, attempts left or not', async () => {
    repository.claim.mockResolvedValue({ claimed: true, notification: email });
    emails.send.mockRejectedValue(new SendFailure('550 no such mailbox', true));
    await expect(delivery.deliver('n1', 'EMAIL', { number: 1, max: 5 })).rejects.toMatchObject({ permanent: true });
    expect(repository.fail).toHaveBeenCalledWith('n1', 'attempt 1/5: 550 no such mailbox');
    expect(repository.release).not.toHaveBeenCalled();
  });

  it('a job of the wrong channel sends nothing and fails for good', async () => {
    repository.claim.mockResolvedValue({ claimed: true, notification: email });
    await expect(delivery.deliver('n1', 'SMS', { number: 1, max: 3 })).rejects.toMatchObject({ permanent: true });
    expect(emails.send).not.toHaveBeenCalled();
    expect(sms.send).not.toHaveBeenCalled();
    expect(repository.fail).toHaveBeenCalled();
  });
});
