import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';
import { DatabaseConfig, QueueConfig } from '../infra/config/app-config.js';
import { EVENT_CONSUMERS, type EventName, type QueueName, UNTIL_DONE_ATTEMPTS } from '../infra/queues/queues.js';
import type { EventBatch, EventRow } from './event-batch.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { OUTBOX_CHANNEL } from './outbox.js';
import { OutboxRepository } from './outbox.repository.js';

/** Outbox rows per relay pass (each row is a batch of events). */
const BATCH = 200;
/** Most events per job; a row is never split, so a job may hold one row above it. */
const EVENTS_PER_JOB = 2000;
const POLL_MS = 1000;
/** How often the relay checks that its consumer queues still hold what it gave them. */
const EPOCH_CHECK_MS = 5000;

/**
 * Moves committed outbox rows to their consumers' BullMQ queues, one job per
 * queue and event type per pass (up to EVENTS_PER_JOB events; see
 * EventBatch), and marks them published.
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
  private lastEpochCheck = 0;

  constructor(
    @Inject(OutboxRepository) private readonly outbox: OutboxRepository,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(QueueConfig) private readonly config: QueueConfig,
    @Inject(DatabaseConfig) private readonly database: DatabaseConfig,
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
    return this.outbox.publishPending(BATCH, async (rows) => {
      // One job per consumer queue and event type (chunked), rows in id order.
      const groups = new Map<string, { queue: QueueName; type: EventName; rows: EventRow[] }>();
      for (const row of rows) {
        const relayed: EventRow = {
          eventId: row.id.trim(),
          // A row written before events were batched holds one payload object.
          payloads: Array.isArray(row.payload) ? (row.payload as EventRow['payloads']) : [row.payload as never],
        };
        for (const queue of EVENT_CONSUMERS[row.type] ?? []) {
          const key = `${queue} ${row.type}`;
          const group = groups.get(key) ?? { queue, type: row.type, rows: [] };
          group.rows.push(relayed);
          groups.set(key, group);
        }
      }
      const byQueue = new Map<
        QueueName,
        { name: EventName; data: EventBatch; opts: { jobId: string; attempts: number } }[]
      >();
      for (const { queue, type, rows: list } of groups.values()) {
        const jobs = byQueue.get(queue) ?? [];
        for (const chunk of chunks(list)) {
          const first = chunk[0]!.eventId;
          const last = chunk.at(-1)!.eventId;
          jobs.push({
            name: type,
            data: { rows: chunk },
            opts: { jobId: first === last ? first : `${first}-${last}`, attempts: UNTIL_DONE_ATTEMPTS },
          });
        }
        byQueue.set(queue, jobs);
      }
      await Promise.all([...byQueue].map(([queue, jobs]) => this.queues.relay(queue, jobs)));
    });
  }

  /**
   * A consumer queue whose data is gone (Redis restarted empty, or a new
   * Redis) has lost the jobs it was given: each queue keeps a marker key in
   * its own key space, and when the marker is missing the rows relayed to the
   * queue within OUTBOX_REPLAY_SECONDS are marked unpublished, so they are
   * relayed again (consumers deduplicate per row). Returns the rows put back.
   */
  async replayLostQueues(): Promise<number> {
    let replayed = 0;
    const consumers = [...new Set(Object.values(EVENT_CONSUMERS).flat())];
    for (const queue of consumers) {
      // In the queue's own key space (its hash tag): it goes when the queue's data goes.
      const marker = this.queues.queue(queue).toKey('relay-epoch');
      const fresh = await this.redis.client.set(marker, String(Date.now()), 'NX');
      if (fresh !== 'OK') continue;
      const types = Object.entries(EVENT_CONSUMERS)
        .filter(([, queues]) => queues.includes(queue))
        .map(([type]) => type);
      const n = await this.outbox.unpublishRecent(types, this.config.OUTBOX_REPLAY_SECONDS);
      if (n > 0)
        this.logger.warn(`queue ${queue} lost its jobs (Redis lost its data): relaying ${n} outbox row(s) again`);
      replayed += n;
    }
    return replayed;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let moved = 0;
      try {
        if (Date.now() - this.lastEpochCheck >= EPOCH_CHECK_MS) {
          this.lastEpochCheck = Date.now();
          await this.replayLostQueues();
        }
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
    const client = new pg.Client({ connectionString: this.database.DATABASE_URL });
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

/** Rows in runs of at most EVENTS_PER_JOB events (a longer row is a run of its own). */
function chunks(rows: EventRow[]): EventRow[][] {
  const out: EventRow[][] = [];
  let current: EventRow[] = [];
  let events = 0;
  for (const row of rows) {
    if (current.length > 0 && events + row.payloads.length > EVENTS_PER_JOB) {
      out.push(current);
      current = [];
      events = 0;
    }
    current.push(row);
    events += row.payloads.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}
