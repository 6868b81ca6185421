import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../infra/config/app-config.js';
import { PaymentUnavailable } from './payment-provider.js';
import { ApprovePaymentProvider, HttpPaymentProvider, PAYMENT_PROVIDERS } from './payment.providers.js';

describe('payment providers', () => {
  let server: Server;
  let url = '';
  let answer = 201;
  const seen: { headers: IncomingHttpHeaders; body: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
        });
        res.writeHead(answer, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'ch_1' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/charges`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = { orderId: '01JD0000000000000000000000', userId: 'u', amount: 1500, idempotencyKey: 'k-1' };
  const config = () =>
    loadConfig({
      DATABASE_URL: 'postgresql://x@127.0.0.1/db',
      REDIS_URL: 'redis://127.0.0.1:6379',
      JWT_SECRET: 'x'.repeat(32),
      PAYMENT_PROVIDER: 'http',
      PAYMENT_PROVIDER_URL: url,
      PAYMENT_PROVIDER_TOKEN: 'secret',
      PAYMENT_TIMEOUT_MS: '1000',
    });

  it('approve: approves every charge', async () => {
    expect(await new ApprovePaymentProvider().charge(request)).toEqual({ approved: true, reference: 'approve-k-1' });
  });

  it('http: 2xx approves; sends the amount, the Idempotency-Key and the token', async () => {
    answer = 201;
    const provider = PAYMENT_PROVIDERS.http(config());
    expect(provider).toBeInstanceOf(HttpPaymentProvider);
    expect(await provider.charge(request)).toEqual({ approved: true, reference: 'ch_1' });
    const last = seen.at(-1)!;
    expect(last.body).toEqual(request);
    expect(last.headers['idempotency-key']).toBe('k-1');
    expect(last.headers.authorization).toBe('Bearer secret');
  });

  it('http: 4xx declines, 5xx and no answer are unavailable', async () => {
    const provider = new HttpPaymentProvider(config());
    answer = 402;
    expect(await provider.charge(request)).toEqual({ approved: false, reason: 'declined (402)' });
    answer = 503;
    await expect(provider.charge(request)).rejects.toBeInstanceOf(PaymentUnavailable);
    const down = new HttpPaymentProvider({ ...config(), PAYMENT_PROVIDER_URL: 'http://127.0.0.1:1/x' } as never);
    await expect(down.charge(request)).rejects.toBeInstanceOf(PaymentUnavailable);
  });

  it('http: a refund goes to PAYMENT_REFUND_URL with its own key; without one it fails', async () => {
    answer = 200;
    const provider = new HttpPaymentProvider({
      ...config(),
      PAYMENT_REFUND_URL: url.replace('charges', 'refunds'),
    } as never);
    await provider.refund({ ...request, reference: 'ch_1' });
    const last = seen.at(-1)!;
    expect(last.body).toEqual({ ...request, reference: 'ch_1' });
    expect(last.headers['idempotency-key']).toBe('refund-k-1');
    answer = 500;
    await expect(provider.refund({ ...request, reference: 'ch_1' })).rejects.toBeInstanceOf(PaymentUnavailable);
    await expect(new HttpPaymentProvider(config()).refund({ ...request, reference: null })).rejects.toThrow(
      /PAYMENT_REFUND_URL/,
    );
  });

  it('config: PAYMENT_PROVIDER=http needs a URL', () => {
    expect(() =>
      loadConfig({
        DATABASE_URL: 'postgresql://x@127.0.0.1/db',
        REDIS_URL: 'redis://127.0.0.1:6379',
        JWT_SECRET: 'x'.repeat(32),
        PAYMENT_PROVIDER: 'http',
      }),
    ).toThrow(/PAYMENT_PROVIDER_URL/);
  });
});
