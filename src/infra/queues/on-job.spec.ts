import 'reflect-metadata';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { DiscoveryModule, NestFactory } from '@nestjs/core';
import { UnrecoverableError, type Job } from 'bullmq';
import { NotifyConfig, QueueConfig } from '../config/app-config.js';
import { JobWorkers } from './job-workers.js';
import {
  assertEveryJobHandled,
  dispatcher,
  JobConsumer,
  JobHandlers,
  OnJob,
  OnJobFailed,
  PAYLOAD_GUARDS,
} from './on-job.js';
import { carriesNothing, EventName, JobName, QueueName, type JobOf, type PayloadGuard } from './queues.js';
import { QueueService } from './queues.module.js';

const job = (name: string, data: unknown = {}, id = 'j1'): Job =>
  ({ id, name, data, opts: {}, attemptsMade: 0 }) as unknown as Job;

/** A copy of the guards without those of these names. */
function without(
  guards: Record<string, PayloadGuard<unknown>>,
  ...names: string[]
): Record<string, PayloadGuard<unknown>> {
  const copy = { ...guards };
  for (const name of names) delete copy[name];
  return copy;
}

/** Guards as the modules declare them (these stand in for sale-admin's, notifications' and events'). */
const anyObject = carriesNothing as PayloadGuard<never>;
const GUARDS = {
  [JobName.PreheatSale]: (d: unknown): d is { saleId: string } =>
    typeof (d as { saleId?: unknown } | null)?.saleId === 'string',
  [JobName.ReconcileSales]: carriesNothing,
  [EventName.OrderPaid]: anyObject,
  [EventName.OrderCancelled]: anyObject,
  [JobName.SendEmail]: anyObject,
  [JobName.SendSms]: anyObject,
  [JobName.SendEmails]: anyObject,
  [JobName.SendSmsBatch]: anyObject,
};

/** Handles every job routed to the promotions queue. */
@Injectable()
@JobConsumer(QueueName.Promotions)
class Promotions {
  readonly seen: string[] = [];
  readonly failed: string[] = [];

  @OnJob(JobName.PreheatSale)
  preheat(j: JobOf<typeof JobName.PreheatSale>): Promise<string> {
    this.seen.push(`preheat ${j.data.saleId}`);
    return Promise.resolve('preheated');
  }

  @OnJob(JobName.ReconcileSales)
  reconcile(): string {
    this.seen.push('reconcile');
    return 'reconciled';
  }

  @OnJob(EventName.OrderPaid)
  paid(): void {
    this.seen.push('paid');
  }

  @OnJob(EventName.OrderCancelled)
  cancelled(): void {
    this.seen.push('cancelled');
  }

  @OnJobFailed(JobName.PreheatSale)
  onFailed(j: Job, err: Error): void {
    this.failed.push(`${j.name}: ${err.message}`);
  }
}

/** Handles only one of the two jobs of the ops queue... which has one: ping. It forgets it. */
@Injectable()
@JobConsumer(QueueName.Ops)
class ForgetfulOps {
  notAHandler(): string {
    return 'no';
  }
}

let app: INestApplicationContext | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function context(providers: (new (...args: never[]) => unknown)[]): Promise<INestApplicationContext> {
  @Module({ imports: [DiscoveryModule], providers: [JobHandlers, ...providers] })
  class TestModule {}
  app = await NestFactory.createApplicationContext(TestModule, { logger: false });
  return app;
}

describe('@OnJob discovery', () => {
  it('finds the declared methods of each consumer and dispatches by job name', async () => {
    const ctx = await context([Promotions]);
    const table = ctx.get(JobHandlers).collect();
    expect([...table.keys()]).toEqual([QueueName.Promotions]);
    const handlers = table.get(QueueName.Promotions)!;
    expect([...handlers.run.keys()].sort()).toEqual(
      [JobName.PreheatSale, JobName.ReconcileSales, EventName.OrderPaid, EventName.OrderCancelled].sort(),
    );

    const run = dispatcher(QueueName.Promotions, handlers, GUARDS);
    await expect(run(job(JobName.PreheatSale, { saleId: 's1' }))).resolves.toBe('preheated');
    await expect(run(job(JobName.ReconcileSales))).resolves.toBe('reconciled');
    expect(ctx.get(Promotions).seen).toEqual(['preheat s1', 'reconcile']);

    await handlers.failed.get(JobName.PreheatSale)![0]!(job(JobName.PreheatSale), new Error('boom'));
    expect(ctx.get(Promotions).failed).toEqual(['sale.preheat: boom']);
  });

  it('fails a job of an unknown name at once (no retry can mend it)', async () => {
    const ctx = await context([Promotions]);
    const run = dispatcher(QueueName.Promotions, ctx.get(JobHandlers).collect().get(QueueName.Promotions)!, GUARDS);
    const result = run(job('sale.unknown'));
    await expect(result).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(result).rejects.toThrow('no handler for job sale.unknown on queue promotions');
  });

  it.each([
    ['no data', undefined],
    ['null', null],
    ['a string', 's1'],
    ['the field missing', { sale: 's1' }],
    ['the field of another type', { saleId: 42 }],
  ])('fails a job whose data its guard refuses (%s) at once, without calling the handler', async (_case, data) => {
    const ctx = await context([Promotions]);
    const run = dispatcher(QueueName.Promotions, ctx.get(JobHandlers).collect().get(QueueName.Promotions)!, GUARDS);
    const result = run(job(JobName.PreheatSale, data, 'bad-1'));
    await expect(result).rejects.toBeInstanceOf(UnrecoverableError);
    await expect(result).rejects.toThrow(
      "malformed sale.preheat job bad-1 on queue promotions: its data does not have the declared payload's shape",
    );
    expect(ctx.get(Promotions).seen).toEqual([]);
  });

  it('checks each job with the guard of its own name', async () => {
    const ctx = await context([Promotions]);
    const checked: string[] = [];
    const spy =
      (name: string) =>
      (d: unknown): d is never => {
        checked.push(`${name} ${JSON.stringify(d)}`);
        return true;
      };
    const guards = { ...GUARDS, [JobName.PreheatSale]: spy('preheat'), [JobName.ReconcileSales]: spy('reconcile') };
    const run = dispatcher(QueueName.Promotions, ctx.get(JobHandlers).collect().get(QueueName.Promotions)!, guards);
    await run(job(JobName.PreheatSale, { saleId: 's2' }));
    await run(job(JobName.ReconcileSales, {}));
    expect(checked).toEqual(['preheat {"saleId":"s2"}', 'reconcile {}']);
  });

  it('refuses to build the dispatcher of a queue whose handled jobs lack a payload guard', async () => {
    const ctx = await context([Promotions]);
    const handlers = ctx.get(JobHandlers).collect().get(QueueName.Promotions)!;
    const partial = without(GUARDS, JobName.ReconcileSales, EventName.OrderPaid);
    expect(() => dispatcher(QueueName.Promotions, handlers, partial)).toThrow(
      'jobs on queue promotions without a payload guard: sales.reconcile, order.paid',
    );
  });

  it('names each job of a queue that has no handler', async () => {
    const ctx = await context([Promotions, ForgetfulOps]);
    const table = ctx.get(JobHandlers).collect();
    expect(() => assertEveryJobHandled([QueueName.Promotions], table)).not.toThrow();
    expect(() => assertEveryJobHandled([QueueName.Ops], table)).toThrow('ops.ping on ops has no handler');
    expect(() => assertEveryJobHandled([QueueName.Email], table)).toThrow('notification.email on email has no handler');
  });

  it('refuses a handler declared for a job never routed to its queue', async () => {
    @Injectable()
    @JobConsumer(QueueName.Ops)
    class Misrouted {
      @OnJob(JobName.Ping, JobName.SendSms)
      run(): string {
        return 'x';
      }
    }
    const ctx = await context([Misrouted]);
    expect(() => assertEveryJobHandled([QueueName.Ops], ctx.get(JobHandlers).collect())).toThrow(
      'notification.sms is handled on ops but never routed there',
    );
  });

  it('runs each method of a consumer of several queues on the queue its jobs are routed to', async () => {
    @Injectable()
    @JobConsumer([QueueName.Email, QueueName.Sms])
    class Sender {
      @OnJob(JobName.SendEmail, JobName.SendEmails)
      email(): string {
        return 'email';
      }

      @OnJob(JobName.SendSms, JobName.SendSmsBatch)
      sms(): string {
        return 'sms';
      }
    }
    const ctx = await context([Sender]);
    const table = ctx.get(JobHandlers).collect();
    expect([...table.get(QueueName.Email)!.run.keys()]).toEqual([JobName.SendEmail, JobName.SendEmails]);
    expect([...table.get(QueueName.Sms)!.run.keys()]).toEqual([JobName.SendSms, JobName.SendSmsBatch]);
    expect(() => assertEveryJobHandled([QueueName.Email, QueueName.Sms], table)).not.toThrow();
    await expect(dispatcher(QueueName.Sms, table.get(QueueName.Sms)!, GUARDS)(job(JobName.SendSms))).resolves.toBe(
      'sms',
    );
  });

  it('refuses two handlers of one job on one queue', async () => {
    @Injectable()
    @JobConsumer(QueueName.Ops)
    class PingA {
      @OnJob(JobName.Ping)
      ping(): string {
        return 'a';
      }
    }
    @Injectable()
    @JobConsumer(QueueName.Ops)
    class PingB {
      @OnJob(JobName.Ping)
      ping(): string {
        return 'b';
      }
    }
    const ctx = await context([PingA, PingB]);
    expect(() => ctx.get(JobHandlers).collect()).toThrow('job ops.ping on queue ops has two handlers');
  });

  it('refuses to boot a worker whose queue has a job without a handler (before any BullMQ worker exists)', async () => {
    await expect(startWorkerLike('promotions,ops', [Promotions, ForgetfulOps], GUARDS)).rejects.toThrow(
      'jobs and handlers do not match: ops.ping on ops has no handler',
    );
  });

  it('refuses to boot a worker without the payload guard of a job it handles (before any BullMQ worker exists)', async () => {
    await expect(startWorkerLike('promotions', [Promotions], without(GUARDS, JobName.PreheatSale))).rejects.toThrow(
      'jobs on queue promotions without a payload guard: sale.preheat',
    );
  });
});

/**
 * Starts the init hooks of a worker's JobWorkers with these consumers and
 * guards. No queue may be touched (QueueService is empty): a worker built
 * before a refusal would ask for its connection and fail otherwise.
 */
async function startWorkerLike(
  queues: string,
  consumers: (new (...args: never[]) => unknown)[],
  guards: Record<string, PayloadGuard<unknown>>,
): Promise<INestApplicationContext> {
  @Module({
    imports: [DiscoveryModule],
    providers: [
      JobHandlers,
      JobWorkers,
      ...consumers,
      { provide: QueueConfig, useValue: { WORKER_QUEUES: queues } },
      { provide: NotifyConfig, useValue: {} },
      { provide: QueueService, useValue: {} },
      { provide: PAYLOAD_GUARDS, useValue: guards },
    ],
  })
  class WorkerLike {}
  // createApplicationContext runs the init hooks, JobWorkers' among them.
  return NestFactory.createApplicationContext(WorkerLike, { logger: false, abortOnError: false });
}
