import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '../infra/prisma/prisma.service.js';

/** A sale worth watching live, with what its status needs. */
export interface WatchedSale {
  id: string;
  name: string;
  startsAt: Date;
  endsAt: Date;
  endedAt: Date | null;
}

/** The read-only queries of the ops module (metrics and the live view). */
@Injectable()
export class OpsRepository {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /** Sales open now, starting within `aheadMs`, or ended within `afterMs`; soonest first. */
  async watchedSales(aheadMs: number, afterMs: number, limit = 20): Promise<WatchedSale[]> {
    const rows = await this.prisma.$queryRaw<
      { id: string; name: string; starts_at: Date; ends_at: Date; ended_at: Date | null }[]
    >`
      SELECT id::text AS id, name, starts_at, ends_at, ended_at FROM sales
      WHERE starts_at <= now() + make_interval(secs => ${aheadMs / 1000})
        AND LEAST(ends_at, COALESCE(ended_at, ends_at)) >= now() - make_interval(secs => ${afterMs / 1000})
      ORDER BY starts_at, id LIMIT ${limit}`;
    return rows.map((r) => ({ id: r.id, name: r.name, startsAt: r.starts_at, endsAt: r.ends_at, endedAt: r.ended_at }));
  }

  /** Outbox events not yet relayed, and the age in seconds of the oldest (0 when none). */
  async outboxBacklog(): Promise<{ unpublished: number; oldestSeconds: number }> {
    const [row] = await this.prisma.$queryRaw<{ n: number; age: number | null }[]>`
      SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age
      FROM outbox_events WHERE published_at IS NULL`;
    return { unpublished: row?.n ?? 0, oldestSeconds: Math.max(0, row?.age ?? 0) };
  }

  /** Notification records by channel and status. */
  async notificationCounts(): Promise<{ channel: string; status: string; n: number }[]> {
    return this.prisma.$queryRaw<{ channel: string; status: string; n: number }[]>`
      SELECT channel::text AS channel, status::text AS status, count(*)::int AS n
      FROM notifications GROUP BY channel, status`;
  }
}
