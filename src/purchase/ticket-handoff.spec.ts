import { describe, expect, it } from '@jest/globals';
import type { JobsOptions } from 'bullmq';
import type { AppConfig } from '../infra/config/app-config.js';
import type { Ticket } from '../gate/tickets.js';
import type { QueueService } from '../infra/queues/queues.module.js';
import { TicketHandoff } from './ticket-handoff.js';

interface Added {
  name: string;
  data: { tickets: Ticket[] };
  opts: JobsOptions;
}

/** The batching rule lives here, not in BullMQ: a recording stand-in for the queue. */
function handoff(lingerMs: number, maxTickets: number, failures = 0) {
  const added: Added[] = [];
  let failing = failures;
  const queues = {
    enqueue: (name: string, data: Added['data'], opts: JobsOptions) => {
      if (failing-- > 0) return Promise.reject(new Error('Redis refused'));
      added.push({ name, data, opts });
      return Promise.resolve();
    },
  } as unknown as QueueService;
  const config = { HANDOFF_LINGER_MS: lingerMs, HANDOFF_MAX_TICKETS: maxTickets } as AppConfig;
  return { handoff: new TicketHandoff(queues, config), added };
}

function ticket(orderId: string, batch: string): Ticket {
  return { orderId, saleId: 's', userId: 'u', quantity: 1, admittedAt: 0, batch };
}

const until = async (check: () => boolean): Promise<void> => {
  while (!check()) await new Promise((r) => setTimeout(r, 1));
};

describe('TicketHandoff', () => {
  it('one job per batch: the admissions started within the linger, job id = the batch id in every ticket', async () => {
    const { handoff: h, added } = handoff(20, 100);
    const batches = [h.reserve(), h.reserve(), h.reserve()];
    expect(new Set(batches.map((b) => b.id)).size).toBe(1);
    const id = batches[0]!.id;
    h.settle(batches[0]!, ticket('a', id));
    h.settle(batches[1]!); // refused: not in the job
    h.settle(batches[2]!, ticket('c', id));
    await until(() => added.length === 1);
    expect(added[0]!.opts.jobId).toBe(id);
    expect(added[0]!.data.tickets.map((t) => t.orderId)).toEqual(['a', 'c']);
    expect(h.reserve().id).not.toBe(id); // the next admission opens the next batch
  });

  it('closes at HANDOFF_MAX_TICKETS and waits for its last admission to be answered', async () => {
    const { handoff: h, added } = handoff(60_000, 2);
    const first = h.reserve();
    const second = h.reserve();
    const third = h.reserve();
    expect(third.id).not.toBe(first.id);
    h.settle(first, ticket('a', first.id));
    await new Promise((r) => setTimeout(r, 5));
    expect(added).toHaveLength(0); // the second admission is still in flight
    h.settle(second, ticket('b', first.id));
    await until(() => added.length === 1);
    expect(added[0]!.data.tickets.map((t) => t.orderId)).toEqual(['a', 'b']);
    h.settle(third);
    await h.onApplicationShutdown();
  });

  it('a batch of refusals only adds nothing', async () => {
    const { handoff: h, added } = handoff(1, 10);
    const b = h.reserve();
    h.settle(b);
    await new Promise((r) => setTimeout(r, 10));
    expect(added).toHaveLength(0);
  });

  it('retries a refused add under the same id; shutdown hands over the open batch first', async () => {
    const { handoff: h, added } = handoff(60_000, 100, 1);
    const b = h.reserve();
    h.settle(b, ticket('a', b.id));
    await h.onApplicationShutdown();
    expect(added).toHaveLength(1);
    expect(added[0]!.opts.jobId).toBe(b.id);
    expect(h.pending).toBe(0);
  });
});
