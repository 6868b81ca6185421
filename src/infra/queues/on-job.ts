import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { UnrecoverableError, type Job } from 'bullmq';
import { jobsOf, type JobKind, type JobOf, type PayloadGuard, type QueueName } from './queues.js';

/** Runs one job; what it returns is the job's return value. */
export type JobHandler = (job: Job) => Promise<unknown>;

/** Told about a job of its names that failed (each failed attempt, as BullMQ's worker `failed` event). */
export type FailedHandler = (job: Job, err: Error) => Promise<void>;

/**
 * Marks a provider as the consumer of a queue (or of several: each of its
 * `@OnJob` methods then runs on the queue its jobs are routed to). Found at
 * boot by `JobHandlers` (Nest's DiscoveryService).
 */
export const JobConsumer = DiscoveryService.createDecorator<QueueName | readonly QueueName[]>();

const RUNS = Reflector.createDecorator<readonly JobKind[]>();
const ON_FAILED = Reflector.createDecorator<readonly JobKind[]>();

/** A method decorator that accepts only a method taking the job these names describe (or nothing). */
export type JobMethodDecorator<K extends JobKind> = <M extends (job: JobOf<K>) => unknown>(
  target: object,
  key: string | symbol,
  descriptor: TypedPropertyDescriptor<M>,
) => void;

/**
 * Declares the method that runs the jobs of these names on its class's queue
 * (immich's `OnJob`). The declaration is the only list of what a consumer
 * handles: the worker dispatches by it and refuses to boot when a job routed
 * to a queue it runs has no such method. The method receives the job with its
 * data checked by the payload's guard and typed by its name (`JobOf<K>`).
 */
export function OnJob<K extends JobKind>(...names: K[]): JobMethodDecorator<K> {
  return RUNS(names);
}

/** Declares a method called when a job of these names has failed on its class's queue. */
export function OnJobFailed(...names: JobKind[]): MethodDecorator {
  return ON_FAILED(names);
}

/** The handlers of one queue, by job name. */
export interface QueueHandlers {
  run: Map<string, JobHandler>;
  failed: Map<string, FailedHandler[]>;
}

function newHandlers(): QueueHandlers {
  return { run: new Map(), failed: new Map() };
}

/**
 * Adds one consumer's declared methods to its queue's handlers (for a
 * consumer of several queues, each job name to the queue it is routed to; a
 * name routed to none of them goes to the first, where the boot check names
 * it). A job name run by two methods of a queue is refused: which one runs
 * would be an accident.
 */
export function addConsumer(
  table: Map<QueueName, QueueHandlers>,
  queues: QueueName | readonly QueueName[],
  instance: object,
  reflector: Reflector = new Reflector(),
): void {
  const list: readonly QueueName[] = typeof queues === 'string' ? [queues] : queues;
  const home = (name: JobKind): QueueName => list.find((q) => jobsOf(q).includes(name)) ?? list[0]!;
  const handlersOf = (queue: QueueName): QueueHandlers => {
    const handlers = table.get(queue) ?? newHandlers();
    table.set(queue, handlers);
    return handlers;
  };
  for (const queue of list) handlersOf(queue);
  const target = instance as Record<string, unknown>;
  for (const key of new MetadataScanner().getAllMethodNames(Object.getPrototypeOf(instance) as object)) {
    const method = target[key];
    if (typeof method !== 'function') continue;
    for (const name of reflector.get(RUNS, method) ?? []) {
      const queue = home(name);
      const handlers = handlersOf(queue);
      if (handlers.run.has(name)) throw new Error(`job ${name} on queue ${queue} has two handlers`);
      handlers.run.set(name, async (job) => method.call(instance, job) as unknown);
    }
    for (const name of reflector.get(ON_FAILED, method) ?? []) {
      const handlers = handlersOf(home(name));
      const failed = handlers.failed.get(name) ?? [];
      failed.push(async (job, err) => {
        await (method.call(instance, job, err) as unknown);
      });
      handlers.failed.set(name, failed);
    }
  }
}

/**
 * Refuses a worker whose queues could receive a job nobody handles (a command
 * routed there by JOB_QUEUE, an event by EVENT_CONSUMERS), or that declares a
 * handler for a job never routed to its queue (a typo, or a route removed).
 */
export function assertEveryJobHandled(
  queues: readonly QueueName[],
  table: ReadonlyMap<QueueName, QueueHandlers>,
): void {
  const problems: string[] = [];
  for (const queue of queues) {
    const routed = jobsOf(queue);
    const handlers = table.get(queue) ?? newHandlers();
    problems.push(...routed.filter((job) => !handlers.run.has(job)).map((job) => `${job} on ${queue} has no handler`));
    problems.push(
      ...[...handlers.run.keys(), ...handlers.failed.keys()]
        .filter((job) => !routed.includes(job))
        .map((job) => `${job} is handled on ${queue} but never routed there`),
    );
  }
  if (problems.length) throw new Error(`jobs and handlers do not match: ${problems.join('; ')}`);
}

/** Injection token of the payload guards the workers check jobs with (PayloadGuards, from the worker's root module). */
export const PAYLOAD_GUARDS = 'PAYLOAD_GUARDS';

/**
 * Runs a job by its name, once its data passed the payload guard of that name.
 * A name with no handler, or data its guard refuses, fails the job at once
 * (UnrecoverableError: retrying cannot mend it). A handled name without a
 * guard is refused here, when the worker is built.
 */
export function dispatcher(
  queue: QueueName,
  handlers: QueueHandlers,
  guards: { readonly [name: string]: PayloadGuard<unknown> | undefined },
): JobHandler {
  const runs = new Map<string, { guard: PayloadGuard<unknown>; run: JobHandler }>();
  const unguarded: string[] = [];
  for (const [name, run] of handlers.run) {
    const guard = guards[name];
    if (guard) runs.set(name, { guard, run });
    else unguarded.push(name);
  }
  if (unguarded.length) throw new Error(`jobs on queue ${queue} without a payload guard: ${unguarded.join(', ')}`);
  return (job) => {
    const handler = runs.get(job.name);
    if (!handler) return Promise.reject(new UnrecoverableError(`no handler for job ${job.name} on queue ${queue}`));
    if (!handler.guard(job.data)) {
      return Promise.reject(
        new UnrecoverableError(
          `malformed ${job.name} job ${job.id ?? ''} on queue ${queue}: its data does not have the declared payload's shape`,
        ),
      );
    }
    return handler.run(job);
  };
}

/** Finds every `@JobConsumer` provider of the application and its declared methods. */
@Injectable()
export class JobHandlers {
  constructor(
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Inject(Reflector) private readonly reflector: Reflector,
  ) {}

  collect(): Map<QueueName, QueueHandlers> {
    const table = new Map<QueueName, QueueHandlers>();
    for (const wrapper of this.discovery.getProviders({ metadataKey: JobConsumer.KEY })) {
      const queues = this.discovery.getMetadataByDecorator(JobConsumer, wrapper);
      const instance = wrapper.instance as object | undefined;
      if (!queues || !instance) continue;
      addConsumer(table, queues, instance, this.reflector);
    }
    return table;
  }
}

/** The queues a class consumes, from its `@JobConsumer` (none when it has none). */
export function consumerQueues(cls: abstract new (...args: never[]) => unknown): readonly QueueName[] {
  const queues = Reflect.getMetadata(JobConsumer.KEY, cls) as QueueName | readonly QueueName[] | undefined;
  return queues === undefined ? [] : typeof queues === 'string' ? [queues] : queues;
}
