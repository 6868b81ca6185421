import { Inject, Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import type { Notification, NotificationChannel, NotificationStatus } from '../generated/prisma/client.js';
import { PrismaService, type Tx } from '../infra/prisma/prisma.service.js';
import type {
  ClaimedNotification,
  NewNotification,
  NotificationContent,
  NotificationView,
} from './notification.types.js';

/** Sends that claim or finish within this many ms of each other share one statement. */
const BATCH_LINGER_MS = 2;
const batching = {
  cache: false,
  maxBatchSize: 500,
  batchScheduleFn: (run: () => void) => setTimeout(run, BATCH_LINGER_MS),
};

interface RawClaimed {
  id: string;
  order_id: string;
  kind: string;
  channel: NotificationChannel;
  recipient: string;
  content: NotificationContent;
  attempts: number;
}

export interface NotificationFilter {
  orderId?: string;
  status?: NotificationStatus;
  channel?: NotificationChannel;
  page: number;
  pageSize: number;
}

/** The outcome of trying to claim a record for sending. */
export type Claim =
  { claimed: true; notification: ClaimedNotification } | { claimed: false; status: NotificationStatus | null };

const toView = (n: Notification): NotificationView => ({
  id: n.id,
  orderId: n.orderId,
  kind: n.kind,
  channel: n.channel,
  recipient: n.recipient,
  status: n.status,
  attempts: n.attempts,
  lastError: n.lastError,
  eventId: n.eventId,
  sentAt: n.sentAt,
  createdAt: n.createdAt,
  updatedAt: n.updatedAt,
});

const CLAIM_SQL = `
  UPDATE notifications SET status = 'SENDING', attempts = attempts + 1, updated_at = now()
  WHERE id = ANY($1::bpchar[]) AND status = 'QUEUED'
  RETURNING id, order_id, kind, channel, recipient, content, attempts`;
const STATUS_SQL = `SELECT id, status FROM notifications WHERE id = ANY($1::bpchar[])`;
const SENT_SQL = `
  UPDATE notifications SET status = 'SENT', sent_at = now(), last_error = NULL, updated_at = now()
  WHERE id = ANY($1::bpchar[]) AND status <> 'SENT'`;

/** Longest error text kept on a record. */
const MAX_ERROR = 1000;

@Injectable()
export class NotificationsRepository {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /**
   * Records the notifications, one per (order, kind, channel): a record that
   * already exists is kept as it is (a duplicate event changes nothing). Then
   * returns every record of these orders and kinds still QUEUED, new or not,
   * so a caller that died before enqueuing their send jobs gets them enqueued
   * on its retry.
   */
  async recordAndListQueued(rows: NewNotification[]): Promise<{ id: string; channel: NotificationChannel }[]> {
    if (rows.length === 0) return [];
    return this.prisma.$transaction(async (tx: Tx) => {
      await tx.$executeRaw`
        INSERT INTO notifications (id, order_id, kind, channel, recipient, content, event_id, updated_at)
        SELECT r.id, r.order_id, r.kind, r.channel::"NotificationChannel", r.recipient, r.content, r.event_id, now()
        FROM unnest(${rows.map((r) => r.id)}::text[], ${rows.map((r) => r.orderId)}::text[],
                    ${rows.map((r) => r.kind)}::text[], ${rows.map((r) => r.channel)}::text[],
                    ${rows.map((r) => r.recipient)}::text[], ${rows.map((r) => JSON.stringify(r.content))}::jsonb[],
                    ${rows.map((r) => r.eventId)}::text[])
             AS r(id, order_id, kind, channel, recipient, content, event_id)
        ORDER BY r.order_id, r.kind, r.channel
        ON CONFLICT (order_id, kind, channel) DO NOTHING`;
      return tx.$queryRaw<{ id: string; channel: NotificationChannel }[]>`
        SELECT n.id, n.channel FROM notifications n
        JOIN (SELECT DISTINCT * FROM unnest(${rows.map((r) => r.orderId)}::bpchar[], ${rows.map((r) => r.kind)}::text[]))
             AS k(order_id, kind) ON n.order_id = k.order_id AND n.kind = k.kind
        WHERE n.status = 'QUEUED'
        ORDER BY n.id`;
    });
  }

  /**
   * Takes a QUEUED record for one transport call: SENDING, attempts + 1, in
   * one conditional update, so two runs of the same job cannot both send.
   * When the record is not QUEUED, says what it is (null: no such record).
   */
  claim(id: string): Promise<Claim> {
    return this.claims.load(id);
  }

  /** The transport accepted the message. Recorded whatever the status became meanwhile: it is the truth. */
  async markSent(id: string): Promise<void> {
    await this.sent.load(id);
  }

  /**
   * Claims and SENT records of the sends running at once in this process go
   * to Postgres together (one statement and one commit for all that arrive
   * within BATCH_LINGER_MS), each answered as if alone. A failed statement
   * fails every send of the batch, each then retried by its own job.
   */
  private readonly claims = new DataLoader<string, Claim>((ids) => this.claimMany(ids), batching);
  private readonly sent = new DataLoader<string, true>(async (ids) => {
    await this.statement('notify_sent', SENT_SQL, [[...ids]]);
    return ids.map(() => true as const);
  }, batching);

  /**
   * The claim and SENT statements run on the pool under Prisma's adapter as
   * named prepared statements, each its own transaction (autocommit), without
   * Prisma's runtime: they run once or twice per message.
   */
  private async statement<R extends object>(name: string, text: string, values: unknown[]): Promise<R[]> {
    return (await this.prisma.pool.query<R>({ name: `fs_${name}`, text, values })).rows;
  }

  private async claimMany(ids: readonly string[]): Promise<Claim[]> {
    const rows = await this.statement<RawClaimed>('notify_claim', CLAIM_SQL, [[...new Set(ids)]]);
    const claimed = new Map(rows.map((row) => [row.id, row]));
    const others = ids.filter((id) => !claimed.has(id));
    const current =
      others.length === 0
        ? new Map<string, NotificationStatus>()
        : new Map(
            (
              await this.statement<{ id: string; status: NotificationStatus }>('notify_status', STATUS_SQL, [
                [...new Set(others)],
              ])
            ).map((n) => [n.id, n.status]),
          );
    const handedOut = new Set<string>();
    return ids.map((id): Claim => {
      const row = claimed.get(id);
      // The same record twice in one batch: the first takes it, the second finds it SENDING, as in turn.
      if (!row || handedOut.has(id)) return { claimed: false, status: row ? 'SENDING' : (current.get(id) ?? null) };
      handedOut.add(id);
      return {
        claimed: true,
        notification: {
          id: row.id,
          orderId: row.order_id,
          kind: row.kind,
          channel: row.channel,
          recipient: row.recipient,
          content: row.content,
          attempts: row.attempts,
        },
      };
    });
  }

  /** A transient failure with attempts left: back to QUEUED for the next try. */
  async release(id: string, error: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE notifications SET status = 'QUEUED', last_error = ${error.slice(0, MAX_ERROR)}, updated_at = now()
      WHERE id = ${id} AND status = 'SENDING'`;
  }

  /** Given up: FAILED with the reason (the dead letters). Never touches a SENT record. */
  async fail(id: string, error: string): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE notifications SET status = 'FAILED', last_error = ${error.slice(0, MAX_ERROR)}, updated_at = now()
      WHERE id = ${id} AND status IN ('QUEUED', 'SENDING')`;
  }

  /** FAILED → QUEUED for an admin's retry; null when the record is not FAILED (or missing). */
  async requeue(id: string): Promise<NotificationView | null> {
    const changed = await this.prisma.notification.updateMany({
      where: { id, status: 'FAILED' },
      data: { status: 'QUEUED' },
    });
    if (changed.count === 0) return null;
    return this.findById(id);
  }

  /** Notification records by channel and status. */
  counts(): Promise<{ channel: string; status: string; n: number }[]> {
    return this.prisma.$queryRaw<{ channel: string; status: string; n: number }[]>`
      SELECT channel::text AS channel, status::text AS status, count(*)::int AS n
      FROM notifications GROUP BY channel, status`;
  }

  async findById(id: string): Promise<NotificationView | null> {
    const row = await this.prisma.notification.findUnique({ where: { id } });
    return row ? toView(row) : null;
  }

  /** Newest first. */
  async page(filter: NotificationFilter): Promise<{ items: NotificationView[]; total: number }> {
    const where = { orderId: filter.orderId, status: filter.status, channel: filter.channel };
    const [rows, total] = await Promise.all([
      this.prisma.notification.findMany({
        where,
        orderBy: { id: 'desc' },
        skip: (filter.page - 1) * filter.pageSize,
        take: filter.pageSize,
      }),
      this.prisma.notification.count({ where }),
    ]);
    return { items: rows.map(toView), total };
  }
}
