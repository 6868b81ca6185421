import pg from 'pg';
import type { SaleView } from '../../src/sales/sale-view.js';
import { request, type Answer } from './http.js';
import type { TestUser } from './users.js';
import { waitFor } from './wait-for.js';

export async function createActiveSale(
  url: string,
  admin: TestUser,
  overrides: Record<string, unknown> = {},
  preheat = true,
): Promise<SaleView> {
  const res = await request<SaleView>(url, 'POST', '/admin/sales', {
    token: admin.token,
    body: {
      name: 'spike',
      sku: 'SPIKE-1',
      price: 1000,
      stock: 50,
      perUserLimit: 1,
      startsAt: new Date(Date.now() - 1000).toISOString(),
      endsAt: new Date(Date.now() + 3600_000).toISOString(),
      ...overrides,
    },
  });
  if (res.status !== 201) throw new Error(`sale not created: ${JSON.stringify(res.body)}`);
  if (preheat) {
    const heated = await request(url, 'POST', `/admin/sales/${res.body.id}/preheat`, { token: admin.token });
    if (heated.status !== 200) throw new Error(`preheat failed: ${JSON.stringify(heated.body)}`);
  }
  return res.body;
}

export function buy(
  url: string,
  user: TestUser,
  saleId: string,
  body: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<Answer<{ orderId?: string; status?: string; code?: string }>> {
  return request(url, 'POST', `/sales/${saleId}/orders`, { token: user.token, body, headers });
}

/**
 * Waits until every ticket the gate admitted for the sale was persisted and
 * answered by inventory: no ticket pending in the gate (QUEUED in the admin
 * stats of the API at `url`, in this process or not), then, read after it,
 * no order PENDING in the database. In that order: a ticket leaves the gate
 * only once its order is committed, so a PENDING count read afterwards
 * cannot miss it. An answer other than 200 (Redis still down) counts as not yet.
 */
export async function settled(
  url: string,
  admin: TestUser,
  databaseUrl: string,
  saleId: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    'every ticket persisted and confirmed (none QUEUED in the gate, then no order PENDING)',
    async () => {
      const res = await request<{ ordersByStatus?: Record<string, number> }>(
        url,
        'GET',
        `/admin/sales/${saleId}/stats`,
        { token: admin.token },
      );
      if (res.status !== 200) return { stats: res.status };
      const queued = res.body.ordersByStatus?.QUEUED;
      return { queued, pending: queued === 0 ? ((await statusCounts(databaseUrl, saleId)).PENDING ?? 0) : undefined };
    },
    (s) => s.queued === 0 && s.pending === 0,
    timeoutMs,
  );
}

export async function query<R extends pg.QueryResultRow>(
  databaseUrl: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export async function statusCounts(databaseUrl: string, saleId: string): Promise<Record<string, number>> {
  const rows = await query<{ status: string; n: string }>(
    databaseUrl,
    'SELECT status, count(*) AS n FROM orders WHERE sale_id = $1 GROUP BY status',
    [saleId],
  );
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

export async function available(databaseUrl: string, saleId: string): Promise<number> {
  const [row] = await query<{ available: number }>(databaseUrl, 'SELECT available FROM inventory WHERE sale_id = $1', [
    saleId,
  ]);
  return row!.available;
}

/** One event of the outbox: the id of its row (a row carries a batch of events of one type) and its payload. */
export interface OutboxEvent {
  id: string;
  type: string;
  payload: Record<string, unknown> & { orderId: string };
}

/** The outbox events about these orders, oldest row first. */
export function outboxEventsOf(databaseUrl: string, orderIds: string[], type?: string): Promise<OutboxEvent[]> {
  return query<OutboxEvent>(
    databaseUrl,
    `SELECT trim(o.id) AS id, o.type, e.payload
     FROM outbox_events o
     CROSS JOIN LATERAL jsonb_array_elements(
       CASE jsonb_typeof(o.payload) WHEN 'array' THEN o.payload ELSE jsonb_build_array(o.payload) END) AS e(payload)
     WHERE e.payload->>'orderId' = ANY($1::text[]) AND ($2::text IS NULL OR o.type = $2)
     ORDER BY o.id`,
    [orderIds, type ?? null],
  );
}
