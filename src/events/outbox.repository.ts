import { Inject, Injectable } from '@nestjs/common';
import { PrismaService } from '../infra/prisma/prisma.service.js';
import type { EventName } from '../infra/queues/queues.js';

/** An outbox row as the relay reads it. */
export interface OutboxRow {
  id: string;
  type: EventName;
  payload: unknown;
}

/** The relay's side of `outbox_events` (the writer's side is OutboxWriter, inside the producers' transactions). */
@Injectable()
export class OutboxRepository {
  constructor(@Inject(PrismaService) private readonly prisma: PrismaService) {}

  /**
   * Takes up to `limit` unpublished rows in id order (FOR UPDATE SKIP LOCKED:
   * relays side by side take different rows), hands them to `publish` and
   * marks them published when it succeeded, all in one transaction. Returns
   * how many rows it took.
   */
  publishPending(limit: number, publish: (rows: OutboxRow[]) => Promise<void>): Promise<number> {
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<OutboxRow[]>`
          SELECT id, type, payload FROM outbox_events
          WHERE published_at IS NULL ORDER BY id LIMIT ${limit}
          FOR UPDATE SKIP LOCKED`;
        if (rows.length === 0) return 0;
        await publish(rows);
        await tx.$executeRaw`
          UPDATE outbox_events SET published_at = now() WHERE id = ANY(${rows.map((r) => r.id)}::bpchar[])`;
        return rows.length;
      },
      { timeout: 30_000 },
    );
  }

  /** Outbox events not yet relayed, and the age in seconds of the oldest (0 when none). */
  async backlog(): Promise<{ unpublished: number; oldestSeconds: number }> {
    const [row] = await this.prisma.$queryRaw<{ n: number; age: number | null }[]>`
      SELECT count(*)::int AS n, EXTRACT(EPOCH FROM now() - min(created_at))::float8 AS age
      FROM outbox_events WHERE published_at IS NULL`;
    return { unpublished: row?.n ?? 0, oldestSeconds: Math.max(0, row?.age ?? 0) };
  }

  /** Marks the rows of these types published within the last `seconds` unpublished again; returns how many. */
  unpublishRecent(types: string[], seconds: number): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE outbox_events SET published_at = NULL
      WHERE published_at > now() - make_interval(secs => ${seconds}::float8)
        AND type = ANY(${types}::text[])`;
  }
}
