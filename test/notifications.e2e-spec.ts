import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue } from 'bullmq';
import { ulid } from 'ulid';
import type { AppConfig, NotifyConfig } from '../src/infra/config/app-config.js';
import { EventName, JobName, QueueName } from '../src/infra/queues/queues.js';
import type { EventBatch } from '../src/events/event-batch.js';
import type { BatchOutcome } from '../src/notifications/send.processors.js';
import { sendBatchJobs } from '../src/notifications/send-jobs.js';
import { buy, createActiveSale, outboxEventsOf, query, statusCounts } from './support/buy.js';
import { waitFor } from './support/wait-for.js';
import { clearRedis, createTestDatabase, testConfig, type TestDatabase } from './support/env.js';
import { request, startApi, type RunningApi } from './support/http.js';
import {
  startSmsGateway,
  startSmtpServer,
  type TestSmsGateway,
  type TestSmtpServer,
} from './support/notify-servers.js';
import { createUsers, type TestUser } from './support/users.js';
import { startWorker } from './support/worker.js';

interface Shopper extends TestUser {
  phone: string;
}

interface NotificationRow {
  id: string;
  order_id: string;
  channel: 'EMAIL' | 'SMS';
  recipient: string;
  status: string;
  attempts: number;
  last_error: string | null;
}

const GATEWAY_TOKEN = 'gateway-secret-token';

/** The id of the batch job the notifications worker makes for these records of one channel. */
const batchJobId = (channel: 'EMAIL' | 'SMS', ids: string[]): string =>
  sendBatchJobs({ NOTIFY_ATTEMPTS: 4, NOTIFY_BACKOFF_MS: 50 } as NotifyConfig, channel, ids)[0]!.opts!.jobId!;

describe('notifications (real SMTP server, real HTTP SMS gateway, BullMQ, Postgres)', () => {
  let db: TestDatabase;
  let config: AppConfig;
  let api: RunningApi;
  let worker: INestApplicationContext;
  let smtp: TestSmtpServer;
  let gateway: TestSmsGateway;
  let admin: TestUser;
  let shoppers: Shopper[];
  const queues: Partial<Record<QueueName, Queue>> = {};

  const queue = (name: QueueName): Queue =>
    (queues[name] ??= new Queue(name, { connection: { url: config.REDIS_URL }, prefix: config.QUEUE_PREFIX }));

  beforeAll(async () => {
    smtp = await startSmtpServer();
    gateway = await startSmsGateway();
    db = await createTestDatabase('notify');
    config = testConfig(db.url, {
      SMTP_URL: smtp.url,
      MAIL_FROM: 'Flash Sale <sales@flash-sale.test>',
      SMS_PROVIDER: 'http',
      SMS_GATEWAY_URL: gateway.url,
      SMS_GATEWAY_TOKEN: GATEWAY_TOKEN,
      NOTIFY_ATTEMPTS: '4',
      NOTIFY_BACKOFF_MS: '50',
      NOTIFY_CONCURRENCY: '10',
      NOTIFY_TIMEOUT_MS: '5000',
    });
    api = await startApi(config);
    worker = await startWorker(config);
    [admin] = await createUsers(api, db.url, 1, 'ADMIN');
    const users = await createUsers(api, db.url, 260);
    // A phone number of their own for each shopper, so an SMS can be told apart.
    shoppers = users.map((u, i) => ({ ...u, phone: `+1555${String(1_000_000 + i)}` }));
    await query(
      db.url,
      'UPDATE users u SET phone = p.phone FROM unnest($1::uuid[], $2::text[]) AS p(id, phone) WHERE u.id = p.id',
      [shoppers.map((s) => s.id), shoppers.map((s) => s.phone)],
    );
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await Promise.all(Object.values(queues).map((q) => q.close()));
    await smtp?.close();
    await gateway?.close();
    if (config) await clearRedis(config);
    await db?.drop();
  });

  const notificationsOf = (orderId: string): Promise<NotificationRow[]> =>
    query<NotificationRow>(db.url, 'SELECT * FROM notifications WHERE order_id = $1 ORDER BY channel', [orderId]);

  /** Waits until the order's email and SMS have reached a final status. */
  async function settled(orderId: string): Promise<NotificationRow[]> {
    return waitFor(
      `notifications of ${orderId} settled`,
      () => notificationsOf(orderId),
      (rows) => rows.length === 2 && rows.every((r) => r.status === 'SENT' || r.status === 'FAILED'),
    );
  }

  /** Waits until the notification and send queues have nothing left to run. */
  async function queuesIdle(): Promise<void> {
    await waitFor(
      'notification queues idle',
      async () =>
        Promise.all(
          [QueueName.Notifications, QueueName.Email, QueueName.Sms].map((q) =>
            queue(q).getJobCounts('waiting', 'active', 'delayed', 'prioritized'),
          ),
        ),
      (counts) => counts.every((c) => Object.values(c).every((n) => n === 0)),
    );
  }

  const mailsTo = (email: string) => smtp.received.filter((m) => m.to.includes(email));
  const smsTo = (phone: string) => gateway.accepted.filter((s) => s.to === phone);

  async function purchase(shopper: Shopper, saleOverrides: Record<string, unknown> = {}): Promise<string> {
    const sale = await createActiveSale(api.url, admin, { stock: 5, ...saleOverrides });
    const res = await buy(api.url, shopper, sale.id);
    expect(res.status).toBe(202);
    return res.body.orderId!;
  }

  it('a purchase sends exactly one email and one SMS to the shopper, with the order in them', async () => {
    const shopper = shoppers[0]!;
    const orderId = await purchase(shopper, { name: 'Blue kettle', price: 2599 });
    const rows = await settled(orderId);
    expect(rows.map((r) => [r.channel, r.recipient, r.status, r.attempts])).toEqual([
      ['EMAIL', shopper.email, 'SENT', 1],
      ['SMS', shopper.phone, 'SENT', 1],
    ]);

    const [mail, ...moreMail] = mailsTo(shopper.email);
    expect(moreMail).toEqual([]);
    expect(mail!.to).toEqual([shopper.email]);
    expect(mail!.raw).toContain(orderId);
    expect(mail!.raw).toContain('Blue kettle');
    expect(mail!.raw).toContain('25.99');
    expect(mail!.raw).toMatch(/^From: Flash Sale <sales@flash-sale\.test>/m);
    expect(mail!.raw).toMatch(/Content-Type: text\/plain/);
    expect(mail!.raw).toMatch(/Content-Type: text\/html/);
    expect(mail!.notificationId).toBe(rows[0]!.id);

    const [sms, ...moreSms] = smsTo(shopper.phone);
    expect(moreSms).toEqual([]);
    expect(sms).toMatchObject({ id: rows[1]!.id, from: 'FlashSale', authorization: `Bearer ${GATEWAY_TOKEN}` });
    expect(sms!.idempotencyKey).toBe(rows[1]!.id);
    expect(sms!.text).toContain(orderId);
    expect(sms!.text).toContain('Blue kettle');

    const listed = await request<{ items: { id: string; status: string }[]; total: number }>(
      api.url,
      'GET',
      `/admin/notifications?orderId=${orderId}&status=SENT`,
      { token: admin.token },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(2);
    expect(listed.body.items.map((n) => n.id).sort()).toEqual(rows.map((r) => r.id).sort());
    // Admin only.
    const forbidden = await request(api.url, 'GET', '/admin/notifications', { token: shopper.token });
    expect(forbidden.status).toBe(403);
    const bad = await request(api.url, 'GET', '/admin/notifications?status=LOST', { token: admin.token });
    expect(bad.status).toBe(400);
  });

  it('SMTP refusing the first two attempts (451): delivered on the third, once', async () => {
    const shopper = shoppers[1]!;
    let refusalsLeft = 2;
    smtp.onRcpt = (address) =>
      address === shopper.email && refusalsLeft-- > 0 ? { code: 451, text: 'try again later' } : undefined;
    const refusalsBefore = smtp.refusals;
    try {
      const orderId = await purchase(shopper);
      const [email, sms] = await settled(orderId);
      expect(email).toMatchObject({ status: 'SENT', attempts: 3, last_error: null });
      expect(sms).toMatchObject({ status: 'SENT', attempts: 1 });
      expect(smtp.refusals - refusalsBefore).toBe(2);
      expect(mailsTo(shopper.email)).toHaveLength(1);
    } finally {
      smtp.onRcpt = () => undefined;
    }
  });

  it('permanent failures (gateway 400, SMTP 550) fail at once with the reason; an admin retry sends them once', async () => {
    const shopper = shoppers[2]!;
    let refuse = true;
    gateway.answer = (sms) => (sms.to === shopper.phone && refuse ? 400 : 202);
    smtp.onRcpt = (address) =>
      address === shopper.email && refuse ? { code: 550, text: '5.1.1 mailbox unavailable' } : undefined;
    try {
      const orderId = await purchase(shopper);
      const [email, sms] = await settled(orderId);
      expect(email).toMatchObject({ status: 'FAILED', attempts: 1 });
      expect(email!.last_error).toMatch(/550 5\.1\.1 mailbox unavailable/);
      expect(sms).toMatchObject({ status: 'FAILED', attempts: 1 });
      expect(sms!.last_error).toMatch(/SMS gateway answered 400: .*invalid destination/);
      expect(gateway.requests.filter((r) => r.to === shopper.phone)).toHaveLength(1);

      // The dead letters: FAILED records with the reason, and the failed jobs kept by BullMQ.
      const dead = await request<{ items: { id: string; lastError: string }[] }>(
        api.url,
        'GET',
        `/admin/notifications?status=FAILED&orderId=${orderId}`,
        { token: admin.token },
      );
      expect(dead.body.items.map((n) => n.id).sort()).toEqual([email!.id, sms!.id].sort());
      // Each went in its order event's batch job, which completed with the one failure counted.
      const smsBatch = await queue(QueueName.Sms).getJob(batchJobId('SMS', [sms!.id]));
      expect(smsBatch!.returnvalue).toEqual({
        sent: 0,
        alreadySent: 0,
        alreadyFailed: 0,
        failed: 1,
        retryingAlone: 0,
        handedBack: 0,
      });
      expect(await queue(QueueName.Sms).getJob(sms!.id)).toBeUndefined();

      refuse = false;
      for (const n of [email!, sms!]) {
        const retried = await request<{ status: string }>(api.url, 'POST', `/admin/notifications/${n.id}/retry`, {
          token: admin.token,
        });
        expect(retried.status).toBe(200);
        expect(retried.body.status).toBe('QUEUED');
      }
      const after = await settled(orderId);
      expect(after.map((r) => r.status)).toEqual(['SENT', 'SENT']);
      expect(after.map((r) => r.attempts)).toEqual([2, 2]);
      expect(mailsTo(shopper.email)).toHaveLength(1);
      expect(smsTo(shopper.phone)).toHaveLength(1);

      // A SENT notification is never sent again; unknown ids are 404.
      const again = await request(api.url, 'POST', `/admin/notifications/${sms!.id}/retry`, { token: admin.token });
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 'NOTIFICATION_NOT_RETRYABLE' });
      const missing = await request(api.url, 'POST', `/admin/notifications/${ulid()}/retry`, { token: admin.token });
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 'NOTIFICATION_NOT_FOUND' });
      const malformed = await request(api.url, 'POST', '/admin/notifications/not-an-id/retry', { token: admin.token });
      expect([malformed.status, malformed.body]).toEqual([
        404,
        { statusCode: 404, code: 'NOTIFICATION_NOT_FOUND', message: 'No such notification' },
      ]);
    } finally {
      gateway.answer = () => 202;
      smtp.onRcpt = () => undefined;
    }
  });

  it('gateway answering 503 is retried with backoff until it accepts', async () => {
    const shopper = shoppers[3]!;
    let busy = 2;
    gateway.answer = (sms) => (sms.to === shopper.phone && busy-- > 0 ? 503 : 202);
    try {
      const orderId = await purchase(shopper);
      const [, sms] = await settled(orderId);
      expect(sms).toMatchObject({ status: 'SENT', attempts: 3, last_error: null });
      expect(gateway.requests.filter((r) => r.to === shopper.phone)).toHaveLength(3);
      expect(smsTo(shopper.phone)).toHaveLength(1);
    } finally {
      gateway.answer = () => 202;
    }
  });

  it('a transient failure on every attempt ends FAILED after NOTIFY_ATTEMPTS', async () => {
    const shopper = shoppers[4]!;
    gateway.answer = (sms) => (sms.to === shopper.phone ? 503 : 202);
    try {
      const orderId = await purchase(shopper);
      const [, sms] = await settled(orderId);
      expect(sms).toMatchObject({ status: 'FAILED', attempts: 4 });
      expect(sms!.last_error).toMatch(/^attempt 4\/4: SMS gateway answered 503/);
      expect(smsTo(shopper.phone)).toHaveLength(0);
    } finally {
      gateway.answer = () => 202;
    }
  });

  it('the same event twice, a send job run again and a run that died mid-send: never a second message', async () => {
    const shopper = shoppers[5]!;
    const orderId = await purchase(shopper);
    const [email, sms] = await settled(orderId);
    const [event] = await outboxEventsOf(db.url, [orderId], EventName.OrderConfirmed);
    const job = (eventId: string): EventBatch => ({ rows: [{ eventId, payloads: [event!.payload as never] }] });
    // The relay delivering it again (its first job gone), and a second event for the same order.
    await queue(QueueName.Notifications).addBulk([
      { name: EventName.OrderConfirmed, data: job(event!.id), opts: { jobId: `${event!.id}-again` } },
      { name: EventName.OrderConfirmed, data: job(ulid()), opts: { jobId: ulid() } },
    ]);
    // A send job run again after its message went out (say, a retry after a lost acknowledgement).
    await queue(QueueName.Email).add(JobName.SendEmail, { notificationId: email!.id }, { jobId: `${email!.id}-again` });
    await queue(QueueName.Sms).add(JobName.SendSms, { notificationId: sms!.id }, { jobId: `${sms!.id}-again` });
    await queuesIdle();
    expect(await notificationsOf(orderId)).toEqual([email, sms]);
    expect(mailsTo(shopper.email)).toHaveLength(1);
    expect(smsTo(shopper.phone)).toHaveLength(1);
    const completed = await queue(QueueName.Email).getJob(`${email!.id}-again`);
    expect(completed!.returnvalue).toBe('already-sent');

    // A run that died between claiming and recording leaves SENDING: the message may be out, so no resend.
    await query(db.url, `UPDATE notifications SET status = 'SENDING' WHERE id = $1`, [sms!.id]);
    await queue(QueueName.Sms).add(JobName.SendSms, { notificationId: sms!.id }, { jobId: `${sms!.id}-crashed` });
    const [, interrupted] = await waitFor(
      'the interrupted SMS to be FAILED',
      () => notificationsOf(orderId),
      (rows) => rows[1]?.status === 'FAILED',
    );
    expect(interrupted!.last_error).toMatch(/^interrupted/);
    expect(smsTo(shopper.phone)).toHaveLength(1);
  });

  it('claims go to Postgres in batches: sends of many records at once each send once, two jobs of one record send it once', async () => {
    const orders = await Promise.all(shoppers.slice(210, 220).map((s) => purchase(s)));
    const rows = (await Promise.all(orders.map((o) => settled(o)))).flat();
    const emails = rows.filter((r) => r.channel === 'EMAIL');
    const mailsBefore = smtp.received.length;
    // Every email to send again, each by two jobs added together: they land in the same claim batches.
    await query(db.url, `UPDATE notifications SET status = 'QUEUED' WHERE id = ANY($1)`, [emails.map((e) => e.id)]);
    await queue(QueueName.Email).addBulk(
      emails.flatMap((e) => [
        { name: JobName.SendEmail, data: { notificationId: e.id }, opts: { jobId: `${e.id}-a` } },
        { name: JobName.SendEmail, data: { notificationId: e.id }, opts: { jobId: `${e.id}-b` } },
      ]),
    );
    await queuesIdle();
    // One more message per record (the one asked for again), never two; every record ends SENT.
    expect(smtp.received.length - mailsBefore).toBe(emails.length);
    for (const e of emails) expect(smtp.received.filter((m) => m.to.includes(e.recipient))).toHaveLength(2);
    const after = await query<NotificationRow>(db.url, 'SELECT * FROM notifications WHERE id = ANY($1)', [
      emails.map((e) => e.id),
    ]);
    expect(after.map((r) => r.status)).toEqual(emails.map(() => 'SENT'));
  });

  /**
   * Orders of shoppers 220… with their email and SMS sent, then every email
   * QUEUED again: records for a batch job the test adds itself.
   */
  async function queuedEmails(from: number, n: number): Promise<{ shopper: Shopper; row: NotificationRow }[]> {
    const buyers = shoppers.slice(from, from + n);
    const orders = await Promise.all(buyers.map((s) => purchase(s)));
    const rows = await Promise.all(orders.map((o) => settled(o)));
    const emails = rows.map((r, i) => ({ shopper: buyers[i]!, row: r[0]! }));
    expect(emails.map((e) => [e.row.channel, e.row.status])).toEqual(emails.map(() => ['EMAIL', 'SENT']));
    await query(db.url, `UPDATE notifications SET status = 'QUEUED' WHERE id = ANY($1)`, [emails.map((e) => e.row.id)]);
    return emails;
  }

  const rowsOf = (ids: string[]) =>
    query<NotificationRow>(db.url, 'SELECT * FROM notifications WHERE id = ANY($1) ORDER BY id', [ids]).then((rows) =>
      ids.map((id) => rows.find((r) => r.id === id)!),
    );

  it('a batch job with one recipient failing transiently and one permanently: the first retried alone, the second FAILED alone, the others sent once', async () => {
    const emails = await queuedEmails(220, 6);
    const [flaky, refused, ...fine] = emails;
    const ids = emails.map((e) => e.row.id);
    const mailsBefore = new Map(emails.map((e) => [e.row.id, mailsTo(e.shopper.email).length]));
    let flakyRefusals = 1;
    smtp.onRcpt = (address) => {
      if (address === refused!.shopper.email) return { code: 550, text: '5.1.1 mailbox unavailable' };
      if (address === flaky!.shopper.email && flakyRefusals-- > 0) return { code: 451, text: 'try again later' };
      return undefined;
    };
    try {
      await queue(QueueName.Email).add(JobName.SendEmails, { notificationIds: ids }, { jobId: 'batch-one-bad' });
      await queuesIdle();
      const batch = await queue(QueueName.Email).getJob('batch-one-bad');
      expect(batch!.returnvalue).toEqual({
        sent: fine.length,
        alreadySent: 0,
        alreadyFailed: 0,
        failed: 1,
        retryingAlone: 1,
        handedBack: 0,
      } satisfies BatchOutcome);
      expect(batch!.attemptsMade).toBe(1);

      const after = await rowsOf(ids);
      const [flakyRow, refusedRow, ...fineRows] = after;
      // The transient one: its second attempt as a job of its own (job id = notification id), then SENT.
      expect(flakyRow).toMatchObject({ status: 'SENT', attempts: flaky!.row.attempts + 2, last_error: null });
      const alone = await queue(QueueName.Email).getJob(flaky!.row.id);
      expect(alone).toMatchObject({
        name: JobName.SendEmail,
        data: { notificationId: flaky!.row.id, attemptsBefore: 1 },
      });
      expect(alone!.returnvalue).toBe('sent');
      // The permanent one: FAILED with its reason, nothing else touched, no job of its own.
      expect(refusedRow).toMatchObject({ status: 'FAILED', attempts: refused!.row.attempts + 1 });
      expect(refusedRow!.last_error).toMatch(/^attempt 1\/4: .*550 5\.1\.1 mailbox unavailable/);
      expect(await queue(QueueName.Email).getJob(refused!.row.id)).toBeUndefined();
      // The others: one try each, SENT.
      expect(fineRows.map((r) => [r.status, r.attempts])).toEqual(fine.map((e) => ['SENT', e.row.attempts + 1]));
      // One more message for each record sent, none for the refused one.
      for (const e of [flaky!, ...fine]) {
        expect(mailsTo(e.shopper.email).length - mailsBefore.get(e.row.id)!).toBe(1);
      }
      expect(mailsTo(refused!.shopper.email).length).toBe(mailsBefore.get(refused!.row.id));
    } finally {
      smtp.onRcpt = () => undefined;
    }
  });

  it('a batch job delivered again (after it completed, or after its worker died mid-batch) sends nothing twice', async () => {
    const emails = await queuedEmails(226, 5);
    const ids = emails.map((e) => e.row.id);
    const mailsBefore = smtp.received.length;
    await queue(QueueName.Email).add(JobName.SendEmails, { notificationIds: ids }, { jobId: 'batch-first' });
    await queuesIdle();
    expect(smtp.received.length - mailsBefore).toBe(ids.length);

    // The same batch again: everything already SENT.
    await queue(QueueName.Email).add(JobName.SendEmails, { notificationIds: ids }, { jobId: 'batch-again' });
    await queuesIdle();
    expect((await queue(QueueName.Email).getJob('batch-again'))!.returnvalue).toMatchObject({
      sent: 0,
      alreadySent: ids.length,
    });
    expect(smtp.received.length - mailsBefore).toBe(ids.length);

    // A worker that died mid-batch: one message sent, one in flight (SENDING), the rest not reached (QUEUED).
    const [sent, inFlight, ...notReached] = ids;
    await query(db.url, `UPDATE notifications SET status = 'SENDING' WHERE id = $1`, [inFlight]);
    await query(db.url, `UPDATE notifications SET status = 'QUEUED' WHERE id = ANY($1)`, [notReached]);
    await queue(QueueName.Email).add(JobName.SendEmails, { notificationIds: ids }, { jobId: 'batch-redelivered' });
    await queuesIdle();
    expect((await queue(QueueName.Email).getJob('batch-redelivered'))!.returnvalue).toEqual({
      sent: notReached.length,
      alreadySent: 1,
      alreadyFailed: 0,
      failed: 1,
      retryingAlone: 0,
      handedBack: 0,
    } satisfies BatchOutcome);
    const after = await rowsOf(ids);
    expect(after.map((r) => r.status)).toEqual(['SENT', 'FAILED', ...notReached.map(() => 'SENT')]);
    expect(after[1]!.last_error).toMatch(/^interrupted/);
    // Only the ones not reached went out again; the one in flight is left for an admin, the sent one alone.
    expect(smtp.received.length - mailsBefore).toBe(ids.length + notReached.length);
    expect(mailsTo(emails[0]!.shopper.email).filter((m) => m.notificationId === sent)).toHaveLength(2);
    expect(mailsTo(emails[1]!.shopper.email).filter((m) => m.notificationId === inFlight)).toHaveLength(2);
  });

  it('a worker shutting down mid-batch finishes the messages in flight and hands back the rest: each sent once', async () => {
    const emails = await queuedEmails(231, 25);
    const ids = emails.map((e) => e.row.id);
    const mailsBefore = new Map(emails.map((e) => [e.row.id, mailsTo(e.shopper.email).length]));
    // 300 ms per message on 10 lanes: the batch takes about a second, the shutdown comes in its first turn.
    smtp.delayMs = 300;
    try {
      await queue(QueueName.Email).add(JobName.SendEmails, { notificationIds: ids }, { jobId: 'batch-shutdown' });
      await waitFor(
        'the batch to be sending',
        () => rowsOf(ids),
        (rows) => rows.some((r) => r.status === 'SENDING'),
      );
      await worker.close();
      const batch = await queue(QueueName.Email).getJob('batch-shutdown');
      const outcome = batch!.returnvalue as BatchOutcome;
      expect(await batch!.getState()).toBe('completed');
      expect(outcome.handedBack).toBeGreaterThan(0);
      expect(outcome.sent + outcome.handedBack).toBe(ids.length);
      // Nothing left SENDING (no message of unknown fate); the ones handed back are still QUEUED.
      const between = await rowsOf(ids);
      expect(between.filter((r) => r.status === 'SENT')).toHaveLength(outcome.sent);
      expect(between.filter((r) => r.status === 'QUEUED')).toHaveLength(outcome.handedBack);
    } finally {
      smtp.delayMs = 0;
      worker = await startWorker(config);
    }
    await queuesIdle();
    const after = await rowsOf(ids);
    expect(after.map((r) => r.status)).toEqual(ids.map(() => 'SENT'));
    for (const e of emails) expect(mailsTo(e.shopper.email).length - mailsBefore.get(e.row.id)!).toBe(1);
  });

  it('a spike of 200 orders: 200 emails and 200 SMS, no duplicates; a slow SMTP server delays neither buyers nor SMS', async () => {
    const spikers = shoppers.slice(10, 210);

    /** Buys in 4 waves of 50 (each after the previous is confirmed); returns each admission's latency. */
    async function spike(name: string): Promise<{ latencies: number[]; saleId: string; orderIds: string[] }> {
      const sale = await createActiveSale(api.url, admin, { name, stock: 200, perUserLimit: 1 });
      const latencies: number[] = [];
      const orderIds: string[] = [];
      for (let wave = 0; wave < 4; wave++) {
        const answers = await Promise.all(
          spikers.slice(wave * 50, wave * 50 + 50).map(async (u) => {
            const started = performance.now();
            const res = await buy(api.url, u, sale.id);
            latencies.push(performance.now() - started);
            return res;
          }),
        );
        expect(answers.map((a) => a.status)).toEqual(Array(50).fill(202));
        orderIds.push(...answers.map((a) => a.body.orderId!));
        await waitFor(
          `wave ${wave} confirmed`,
          () => statusCounts(db.url, sale.id),
          (c) => c.AWAITING_PAYMENT === orderIds.length,
        );
      }
      return { latencies, saleId: sale.id, orderIds };
    }

    const counts = (saleId: string) =>
      query<{ channel: string; status: string; n: string }>(
        db.url,
        `SELECT n.channel, n.status, count(*) AS n FROM notifications n JOIN orders o ON o.id = n.order_id
         WHERE o.sale_id = $1 GROUP BY 1, 2`,
        [saleId],
      ).then((rows) => Object.fromEntries(rows.map((r) => [`${r.channel} ${r.status}`, Number(r.n)])));

    const mailsOfSale = (orderIds: string[]) => {
      const ids = new Set(orderIds);
      return smtp.received.filter((m) => [...ids].some((id) => m.raw.includes(id)));
    };

    const checkDelivered = (orderIds: string[]) => {
      const mails = mailsOfSale(orderIds);
      expect(mails).toHaveLength(200);
      expect(new Set(mails.map((m) => m.notificationId)).size).toBe(200);
      expect(new Set(mails.map((m) => m.to[0])).size).toBe(200);
      expect(mails.map((m) => m.to[0]).sort()).toEqual(spikers.map((s) => s.email).sort());
      const sms = gateway.accepted.filter((s) => orderIds.some((id) => s.text.includes(id)));
      expect(sms).toHaveLength(200);
      expect(new Set(sms.map((s) => s.id)).size).toBe(200);
      expect(sms.map((s) => s.to).sort()).toEqual(spikers.map((s) => s.phone).sort());
    };

    // Fast SMTP server.
    const connectionsBefore = gateway.connections;
    const fast = await spike('fast mail');
    await waitFor(
      '400 fast notifications SENT',
      () => counts(fast.saleId),
      (c) => c['EMAIL SENT'] === 200 && c['SMS SENT'] === 200,
    );
    checkDelivered(fast.orderIds);
    // 200 SMS over kept-alive connections: at most NOTIFY_CONCURRENCY (10) at once, a few more if idle ones were closed.
    expect(gateway.connections - connectionsBefore).toBeLessThanOrEqual(20);

    // Slow SMTP server: 200 ms per message, 10 connections → about 4 s for 200 emails.
    smtp.delayMs = 200;
    try {
      const slow = await spike('slow mail');
      // Buyers are all confirmed and every SMS is out while the email channel is still busy.
      const whenSmsDone = await waitFor(
        '200 SMS sent despite the slow SMTP server',
        () => counts(slow.saleId),
        (c) => c['SMS SENT'] === 200,
      );
      expect(whenSmsDone['EMAIL SENT'] ?? 0).toBeLessThan(200);
      await waitFor(
        '200 slow emails SENT',
        () => counts(slow.saleId),
        (c) => c['EMAIL SENT'] === 200,
      );
      checkDelivered(slow.orderIds);

      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const fastMedian = median(fast.latencies);
      const slowMedian = median(slow.latencies);
      // Loose: the slow mail server must not show up in the buy path's latency.
      expect(slowMedian).toBeLessThan(fastMedian * 3 + 25);
    } finally {
      smtp.delayMs = 0;
    }
  });
});
