import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ulid } from 'ulid';
import { EventName } from '../src/infra/queues/queues.js';
import { OrderPipelineService } from '../src/orders/order-pipeline.service.js';
import { buy, createActiveSale, statusCounts } from './support/buy.js';
import { startFixture, type ApiFixture } from './support/fixture.js';
import { waitFor } from './support/wait-for.js';

/** More hot transactions at once than the worker's pool has connections (20). */
const ORDERS = 30;

/**
 * A worker behind a backlog runs as many hot transactions as its pool has
 * connections, and more wait for one. A transaction that needs a second
 * connection of the same pool while it holds one (the sale lookup on a cache
 * miss) then waits for ever: every connection is held by a transaction
 * waiting the same way (a worker in `bench:backlog` confirmed nothing for
 * 200 s, every connection "idle in transaction").
 */
describe('worker backlog: inventory answers with every pool connection busy', () => {
  let f: ApiFixture;

  beforeAll(async () => {
    f = await startFixture('backlog', {
      users: ORDERS,
      worker: 'orders',
      // One transaction per answer (no merging), the sale looked up each time (a cache miss every
      // time), no relay: the answers below are the only ones.
      env: { BATCH_SIZE: '1', STOREFRONT_CACHE_MS: '0', OUTBOX_RELAY: 'false' },
    });
  });

  afterAll(async () => {
    await f.close();
  });

  it(`${ORDERS} answers at once, each its own transaction, all applied within 20 s`, async () => {
    const sale = await createActiveSale(f.api.url, f.admin, { stock: ORDERS });
    const answers = await Promise.all(f.users.map((u) => buy(f.api.url, u, sale.id)));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    await waitFor(
      'every order PENDING',
      () => statusCounts(f.db.url, sale.id),
      (c) => c.PENDING === ORDERS,
    );

    const pipeline = f.worker!.get(OrderPipelineService);
    const applied = Promise.all(
      answers.map((a) =>
        pipeline.applyInventoryAnswers([
          {
            eventId: ulid(),
            type: EventName.InventoryReserved,
            payload: { orderId: a.body.orderId!, saleId: sale.id, quantity: 1 },
          },
        ]),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      applied.then(() => 'applied'),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve('stuck for 20 s'), 20_000))),
    ]).finally(() => clearTimeout(timer));
    expect(outcome).toBe('applied');
    expect(await statusCounts(f.db.url, sale.id)).toEqual({ AWAITING_PAYMENT: ORDERS });
  }, 60_000);
});
