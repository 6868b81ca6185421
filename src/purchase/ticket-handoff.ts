import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ulid } from 'ulid';
import { GateConfig } from '../infra/config/app-config.js';
import { placeOrdersJob, type Ticket } from '../gate/tickets.js';
import { QueueService } from '../infra/queues/queues.module.js';

/** A batch of admissions being collected; its id is the BullMQ job id and is written into each ticket. */
export interface HandoffBatch {
  readonly id: string;
  readonly tickets: Ticket[];
  /** Admissions started for this batch (it closes at HANDOFF_MAX_TICKETS). */
  started: number;
  /** Admissions started and not answered yet. */
  inFlight: number;
  closed: boolean;
  timer?: NodeJS.Timeout;
}

/** Waits between the tries of a failed add, before the sweeper is left to it. */
const ADD_RETRY_MS = [100, 400, 1600];

/**
 * Hands admitted tickets to the workers in batches: one `orders.place` job
 * per batch instead of one job per order.
 *
 * A batch is the set of admissions *started* within HANDOFF_LINGER_MS (or up
 * to HANDOFF_MAX_TICKETS of them). Its id is chosen before the Lua call and
 * goes into every ticket of the batch, so the job id is known in Redis before
 * the job exists: after the batch closes and its last admission has been
 * answered, the admitted tickets are added as one job under that id. A retried
 * add creates nothing twice, and the sweeper can tell, for a ticket still
 * waiting in the gate, whether its job is still to come (waiting, active) or
 * never arrived (the API copy died, or Redis refused the add) and must be
 * added again under the same id.
 *
 * The shopper's 202 does not wait for the job: the ticket in the gate is the
 * admission's durable record (see docs/buy-path.md, "No lost admission").
 */
@Injectable()
export class TicketHandoff implements OnApplicationShutdown {
  private readonly logger = new Logger('TicketHandoff');
  /** This process's own prefix of batch ids. */
  private readonly origin = ulid();
  private seq = 0;
  private open?: HandoffBatch;
  private readonly unsettled = new Set<HandoffBatch>();
  private readonly adding = new Set<Promise<void>>();
  private drained?: () => void;

  constructor(
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(GateConfig) private readonly config: GateConfig,
  ) {}

  /** The batch the next admission joins; call settle() with its answer, whatever happens. */
  reserve(): HandoffBatch {
    let batch = this.open;
    if (!batch) {
      batch = { id: `${this.origin}-${++this.seq}`, tickets: [], started: 0, inFlight: 0, closed: false };
      this.open = batch;
      const opened = batch;
      batch.timer = setTimeout(() => this.close(opened), this.config.HANDOFF_LINGER_MS);
    }
    batch.started++;
    batch.inFlight++;
    if (batch.started >= this.config.HANDOFF_MAX_TICKETS) this.close(batch);
    return batch;
  }

  /** The admission of a reserved place was answered: `admitted` when the gate took it. */
  settle(batch: HandoffBatch, admitted?: Ticket): void {
    if (admitted) batch.tickets.push(admitted);
    batch.inFlight--;
    if (batch.closed && batch.inFlight === 0) this.flush(batch);
  }

  /** Batches and adds still under way (health and tests). */
  get pending(): number {
    return this.unsettled.size + this.adding.size + (this.open ? 1 : 0);
  }

  /**
   * On shutdown, after the HTTP server has finished its last requests and
   * before the queues close (this module is nearer the root than BullMQ's):
   * the last batches go out.
   */
  async onApplicationShutdown(): Promise<void> {
    if (this.open) this.close(this.open);
    if (this.unsettled.size > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    while (this.adding.size > 0) await Promise.allSettled([...this.adding]);
  }

  private close(batch: HandoffBatch): void {
    if (batch.closed) return;
    batch.closed = true;
    clearTimeout(batch.timer);
    if (this.open === batch) this.open = undefined;
    if (batch.inFlight === 0) this.flush(batch);
    else this.unsettled.add(batch);
  }

  private flush(batch: HandoffBatch): void {
    this.unsettled.delete(batch);
    if (this.unsettled.size === 0) this.drained?.();
    if (batch.tickets.length === 0) return;
    const adding = this.add(batch).finally(() => this.adding.delete(adding));
    this.adding.add(adding);
  }

  private async add(batch: HandoffBatch): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const job = placeOrdersJob(batch.id, batch.tickets);
        await this.queues.enqueue(job.name, job.data, job.opts);
        return;
      } catch (err) {
        const wait = ADD_RETRY_MS[attempt];
        if (wait === undefined) {
          // The tickets are safe in the gate; the sweeper adds the job under the same id.
          this.logger.warn(`batch ${batch.id} of ${batch.tickets.length} ticket(s) not handed over: ${String(err)}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }
}
