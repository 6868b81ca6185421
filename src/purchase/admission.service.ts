import { Inject, Injectable, Logger } from '@nestjs/common';
import { GateAdmission } from '../gate/gate-admission.js';
import { AuthConfig, HttpConfig, RedisConfig } from '../infra/config/app-config.js';
import { RedisService } from '../infra/redis/redis.module.js';
import { DomainError } from '../infra/errors/domain-error.js';
import { isStoreUnavailable } from '../infra/errors/unavailable.js';
import { OrderIdTags, ulidFactory } from '../infra/ids/ids.js';
import { JobName } from '../infra/queues/queues.js';
import type { Ticket } from '../gate/tickets.js';
import { QueueService } from '../infra/queues/queues.module.js';
import { GateMetrics } from './gate.metrics.js';
import { SaleLookup } from '../sales/sale-lookup.js';
import { SoldOutFlags } from './sold-out-flags.js';
import { TicketHandoff } from './ticket-handoff.js';
import { BacklogPace } from './backlog-pace.js';
import { RoomTurns } from '../room/room-turns.js';

export interface Admitted {
  orderId: string;
  status: 'QUEUED';
}

export interface PurchaseRequest {
  saleId: string;
  userId: string;
  quantity: number;
  ip: string;
  idempotencyKey?: string;
  /** The waiting room's admission (header Admission-Token), needed on a sale with a room. */
  admissionToken?: string;
}

/**
 * The buy path in the API process: local sold-out flag, one Lua call, and on
 * admission the ticket joins the batch that TicketHandoff hands to the
 * workers. No Postgres on this path.
 */
@Injectable()
export class AdmissionService {
  private readonly logger = new Logger('Admission');
  private readonly nextOrderId = ulidFactory();
  /** Order ids bound to their shopper (see OrderIdTags: a lost admission is recognised by it). */
  private readonly tags: OrderIdTags;

  constructor(
    @Inject(GateAdmission) private readonly gate: GateAdmission,
    @Inject(SoldOutFlags) private readonly flags: SoldOutFlags,
    @Inject(TicketHandoff) private readonly handoff: TicketHandoff,
    @Inject(QueueService) private readonly queues: QueueService,
    @Inject(SaleLookup) private readonly sales: SaleLookup,
    @Inject(GateMetrics) private readonly gateMetrics: GateMetrics,
    @Inject(HttpConfig) private readonly config: HttpConfig,
    @Inject(BacklogPace) private readonly pace: BacklogPace,
    @Inject(RoomTurns) private readonly turns: RoomTurns,
    @Inject(AuthConfig) auth: AuthConfig,
    @Inject(RedisService) private readonly redis: RedisService,
    @Inject(RedisConfig) private readonly redisConfig: RedisConfig,
  ) {
    this.tags = new OrderIdTags(auth.JWT_SECRET);
  }

  async purchase(req: PurchaseRequest): Promise<Admitted> {
    const saleId = req.saleId.toLowerCase();
    // A replay must find its first answer, and a purchase with an admission must end the shopper's turn in the
    // room (the gate's SOLD_OUT below does, and frees the slot): only the others take the shortcut.
    if (!req.idempotencyKey && !req.admissionToken && this.flags.isSoldOut(saleId)) {
      this.flags.count(saleId, 'SOLD_OUT');
      this.gateMetrics.gateDecision(saleId, 'SOLD_OUT');
      throw soldOut();
    }
    // Redis out of reach: refuse, after a short wait for a dropped connection to be re-made
    // (REDIS_RECONNECT_WAIT_MS; no pile-up behind an outage); nothing was sent.
    if (!this.gate.connected && !(await this.redis.whenReady(this.redisConfig.REDIS_RECONNECT_WAIT_MS)))
      throw unavailable(this.retryAfter());
    const admission = req.admissionToken
      ? await this.turns.admission(req.admissionToken, saleId, req.userId)
      : undefined;
    const batch = this.handoff.reserve();
    const ticket: Ticket = {
      orderId: this.tags.issue(this.nextOrderId(), req.userId),
      saleId,
      userId: req.userId,
      quantity: req.quantity,
      admittedAt: Date.now(),
      batch: batch.id,
    };
    let admitted: Ticket | undefined;
    try {
      const answer = await this.gate
        .admit({
          ticket,
          ip: req.ip,
          idempotencyKey: req.idempotencyKey,
          admission,
          backlogCap: this.pace.capFor(),
        })
        .catch((err: unknown) => {
          // Sent, and its answer lost with the connection (or late): the admission may have
          // happened. If it did, the ticket becomes an order through the sweeper; the answer names it.
          if (isStoreUnavailable(err)) throw outcomeUnknown(ticket.orderId, this.retryAfter());
          throw err;
        });
      this.gateMetrics.gateDecision(saleId, answer.code);
      switch (answer.code) {
        case 'OK':
          admitted = ticket;
          if (admission) this.turns.used(saleId, req.userId);
          return { orderId: ticket.orderId, status: 'QUEUED' };
        case 'REPLAY':
          return { orderId: answer.orderId!, status: 'QUEUED' };
        case 'SOLD_OUT':
          // A refused purchase ends the shopper's turn in the room: the slot goes to the next one.
          if (admission) this.turns.endSoon(saleId, req.userId);
          throw soldOut();
        case 'LIMIT_EXCEEDED':
          if (admission) this.turns.endSoon(saleId, req.userId);
          throw new DomainError('LIMIT_EXCEEDED', 'This would exceed the per-shopper limit of the sale');
        case 'ADMISSION_REQUIRED':
          throw new DomainError(
            'ADMISSION_REQUIRED',
            'This sale has a waiting room: join the queue (POST /sales/:id/queue) and buy with its admission (header Admission-Token)',
          );
        case 'ADMISSION_INVALID':
          throw new DomainError(
            'ADMISSION_INVALID',
            'This admission is no longer valid (the sale was restored after a fault): join the queue again',
          );
        case 'ADMISSION_USED':
          throw new DomainError('ADMISSION_USED', 'This admission has already bought once');
        case 'SALE_NOT_ACTIVE':
          throw notActive();
        case 'RATE_LIMITED':
          throw new DomainError('RATE_LIMITED', 'Too many attempts; slow down', undefined, { 'retry-after': '1' });
        case 'BUSY':
          throw new DomainError('BUSY', 'Too many orders are waiting; try again shortly', undefined, this.retryAfter());
        case 'NOT_READY':
          return await this.notReady(saleId);
      }
    } finally {
      this.handoff.settle(batch, admitted);
    }
  }

  /**
   * No gate for the sale: unknown sale, not open yet, or not preheated (yet) —
   * or Redis lost its data. Never admits on missing state: 503 until the gate
   * is rebuilt from the orders of record, which this asks a worker to do (a
   * preheat job, at most one per sale every 5 s).
   */
  private async notReady(saleId: string): Promise<never> {
    const phase = await this.sales.phase(saleId);
    if (phase === null) throw new DomainError('SALE_NOT_FOUND', 'No such sale');
    if (phase !== 'OPEN') throw notActive();
    const slot = Math.floor(Date.now() / 5000);
    await this.queues
      .enqueue(JobName.PreheatSale, { saleId }, { jobId: `rebuild-${saleId}-${slot}` })
      .catch((err: unknown) => this.logger.warn(`sale ${saleId}: gate rebuild not requested: ${String(err)}`));
    throw new DomainError(
      'GATE_NOT_READY',
      'The sale is being prepared; try again shortly',
      undefined,
      this.retryAfter(),
    );
  }

  private retryAfter(): Record<string, string> {
    return { 'retry-after': String(this.config.RETRY_AFTER_SECONDS) };
  }
}

function soldOut(): DomainError {
  return new DomainError('SOLD_OUT', 'The sale is sold out');
}

function unavailable(retryAfter: Record<string, string>): DomainError {
  return new DomainError(
    'UNAVAILABLE',
    'Purchases are briefly unavailable; nothing was bought. Try again shortly',
    undefined,
    retryAfter,
  );
}

function outcomeUnknown(orderId: string, retryAfter: Record<string, string>): DomainError {
  return new DomainError(
    'OUTCOME_UNKNOWN',
    `The purchase could not be confirmed; it may still be placed as order ${orderId}: look it up at /orders/${orderId}`,
    undefined,
    retryAfter,
    { orderId },
  );
}

function notActive(): DomainError {
  return new DomainError('SALE_NOT_ACTIVE', 'The sale is not open (not started, paused or ended)');
}
