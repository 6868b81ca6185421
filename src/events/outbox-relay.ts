import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';
import { AppConfig } from '../infra/config/app-config.js';
import { PrismaService } from '../infra/prisma/prisma.service.js';
import {
  EVENT_CONSUMERS,
  type EventBatch,
  type EventJob,
  type EventName,
  type QueueName,
  UNTIL_DONE_ATTEMPTS,
} from '../infra/queues/queues.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { OUTBOX_CHANNEL } from './outbox.js';

const BATCH = 1000;
const POLL_MS = 1000;

/**
 * Moves committed outbox rows to their consumers' BullMQ queues, one job per
 * queue and event type per batch (see EventBatch), and marks them published.
 * At-least-once; woken by LISTEN/NOTIFY, with a 1 s poll as the safety net;
 * several relays run safely side by side (FOR UPDATE SKIP LOCKED).
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('OutboxRelay');
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private listener?: pg.Client;

  constructor(
    @Inject(PrismaService) private readonly prisma: PrismaService,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.OUTBOX_RELAY) return;
    this.running = true;
    void this.listen();
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.listener?.end().catch(() => undefined);
  }

  /** Publishes one batch; returns how many rows it moved. */
  async relayOnce(): Promise<number> {
    return this.prisma.$transaction(
      async (tx) => {
        const rows = await tx.$queryRaw<{ id: string; type: EventName; payload: unknown }[]>`
          SELECT id, type, payload FROM outbox_events
          WHERE published_at IS NULL ORDER BY id LIMIT ${BATCH}
          FOR UPDATE SKIP LOCKED`;
        if (rows.length === 0) return 0;
        // One job per consumer queue and event type, in id order.
        const groups = new Map<string, { queue: QueueName; type: EventName; events: EventJob[] }>();
        for (const row of rows) {
          const eventId = row.id.trim();
          for (const queue of EVENT_CONSUMERS[row.type] ?? []) {
            const key = `${queue} ${row.type}`;
            const group = groups.get(key) ?? { queue, type: row.type, events: [] };
            group.events.push({ eventId, type: row.type, payload: row.payload } as EventJob);
            groups.set(key, group);
          }
        }
        const byQueue = new Map<
          QueueName,
          { name: string; data: EventBatch; opts: { jobId: string; attempts: number } }[]
        >();
        for (const { queue, type, events } of groups.values()) {
          const first = events[0]!.eventId;
          const last = events.at(-1)!.eventId;
          const jobs = byQueue.get(queue) ?? [];
          jobs.push({
            name: type,
            data: { events },
            opts: { jobId: first === last ? first : `${first}-${last}`, attempts: UNTIL_DONE_ATTEMPTS },
          });
          byQueue.set(queue, jobs);
        }
        await Promise.all([...byQueue].map(([queue, jobs]) => this.queues.queue(queue).addBulk(jobs)));
        await tx.$executeRaw`
          UPDATE outbox_events SET published_at = now() WHERE id = ANY(${rows.map((r) => r.id)}::text[])`;
        return rows.length;
      },
      { timeout: 30_000 },
    );
  }

  private async run(): Promise<void> {
    while (this.running) {
      let moved = 0;
      try {
        moved = await this.relayOnce();
      } catch (err) {
        this.logger.warn(`relay failed, retrying: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (moved === BATCH || !this.running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.config.DATABASE_URL });
    client.on('notification', () => this.wake?.());
    client.on('error', () => {
      this.listener = undefined;
      if (this.running) setTimeout(() => void this.listen(), POLL_MS).unref();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${OUTBOX_CHANNEL}`);
      this.listener = client;
      if (!this.running) await client.end();
    } catch {
      // The poll keeps the relay going; try to listen again later.
      await client.end().catch(() => undefined);
      if (this.running) setTimeout(() => void this.listen(), POLL_MS).unref();
    }
  }
}
